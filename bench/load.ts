import autocannon from 'autocannon';

export interface LoadResult {
  route: string;
  rps: number;
  p99Ms: number;
  p50Ms: number;
  non2xx: number;
  errors: number;
}

export const CONNECTIONS = 50;
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 8);

/** 50 connections for DURATION_S seconds after a short warm-up. */
export async function hammer(route: string, url: string, headers: Record<string, string>): Promise<LoadResult> {
  await autocannon({ url, connections: CONNECTIONS, duration: 1, headers });
  const r = await autocannon({ url, connections: CONNECTIONS, duration: DURATION_S, headers });
  return { route, rps: r.requests.average, p99Ms: r.latency.p99, p50Ms: r.latency.p50, non2xx: r.non2xx, errors: r.errors + r.timeouts };
}

/**
 * Ratios to the floor, both "higher is better": throughput ratio = rps / floor rps, latency
 * ratio = floor p99 / p99. The target is ≥ 0.8 for both, with zero non-2xx.
 */
export function ratios(subject: LoadResult, floor: LoadResult): { throughput: number; p99: number } {
  return { throughput: subject.rps / floor.rps, p99: floor.p99Ms / Math.max(subject.p99Ms, 0.001) };
}
