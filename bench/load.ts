import autocannon, { type Options } from 'autocannon';

export interface LoadResult {
  route: string;
  rps: number;
  p99Ms: number;
  p50Ms: number;
  non2xx: number;
  errors: number;
}

export const CONNECTIONS = 50;
const ROUND_S = Number(process.env.BENCH_ROUND_S ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** Seconds of warm-up per target before the measured rounds (0: none, as the smoke run does). */
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 1);

/** Load for WARMUP_S seconds at CONNECTIONS (or the options' own) connections, unmeasured; nothing when it is 0. */
export async function warmUp(options: Options): Promise<void> {
  if (WARMUP_S > 0) await autocannon({ connections: CONNECTIONS, ...options, duration: WARMUP_S });
}

export interface Target {
  route: string;
  url: string;
  headers: Record<string, string>;
}

/**
 * 50 connections against each target in turn, ROUNDS times (interleaved, so a noisy neighbour
 * hurts every route alike), after a warm-up of WARMUP_S (one second) each; the median round is reported.
 */
export async function hammer(targets: Target[]): Promise<LoadResult[]> {
  for (const t of targets) await warmUp({ url: t.url, headers: t.headers });
  const rounds = targets.map(() => [] as LoadResult[]);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, t] of targets.entries()) {
      const r = await autocannon({ url: t.url, connections: CONNECTIONS, duration: ROUND_S, headers: t.headers });
      rounds[i].push({ route: t.route, rps: r.requests.average, p99Ms: r.latency.p99, p50Ms: r.latency.p50, non2xx: r.non2xx, errors: r.errors + r.timeouts });
    }
  }
  const mid = <K extends 'rps' | 'p99Ms' | 'p50Ms'>(xs: LoadResult[], k: K) => [...xs].map((x) => x[k]).sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return rounds.map((xs) => ({
    route: xs[0].route,
    rps: mid(xs, 'rps'),
    p99Ms: mid(xs, 'p99Ms'),
    p50Ms: mid(xs, 'p50Ms'),
    non2xx: xs.reduce((n, x) => n + x.non2xx, 0),
    errors: xs.reduce((n, x) => n + x.errors, 0),
  }));
}

/**
 * Ratios to the floor, both "higher is better": throughput ratio = rps / floor rps, latency
 * ratio = floor p99 / p99. The target is ≥ 0.8 for both, with zero non-2xx.
 */
export function ratios(subject: LoadResult, floor: LoadResult): { throughput: number; p99: number } {
  return { throughput: subject.rps / floor.rps, p99: floor.p99Ms / Math.max(subject.p99Ms, 0.001) };
}
