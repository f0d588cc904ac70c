// Just what bench/load.ts uses (autocannon ships no types).
declare module 'autocannon' {
  export interface Options {
    url: string;
    connections?: number;
    duration?: number;
    headers?: Record<string, string>;
    method?: string;
    body?: string;
    requests?: {
      method?: string;
      body?: string;
      headers?: Record<string, string>;
      setupRequest?: (req: { headers: Record<string, string>; body?: string }, context: Record<string, string>) => { headers: Record<string, string>; body?: string };
      onResponse?: (status: number, body: string, context: Record<string, string>) => void;
    }[];
  }
  export interface Histogram {
    average: number;
    p50: number;
    p99: number;
  }
  export interface Result {
    requests: Histogram;
    latency: Histogram;
    non2xx: number;
    errors: number;
    timeouts: number;
    '2xx': number;
  }
  function autocannon(options: Options): Promise<Result>;
  export default autocannon;
}
