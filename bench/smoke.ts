/*
 * `npm run bench -- --smoke` (or `npm run bench:smoke`): every section at small sizes, in under a
 * minute, so CI proves each one still runs. Its figures mean nothing. Imported first by run.ts,
 * before the sections read their sizes; explicit BENCH_* settings still win.
 */
export const SMOKE = process.argv.includes('--smoke');

if (SMOKE) {
  const small: Record<string, string> = {
    BENCH_ROUND_S: '1', BENCH_ROUNDS: '1', BENCH_WARMUP_S: '0', BENCH_STARTS: '2', BENCH_IDLE_MS: '300', BENCH_RL_SECONDS: '2', BENCH_RL_WINDOW_S: '2',
    BENCH_STORM_TEAMS: '40', BENCH_SLOW_TEAMS: '5', BENCH_SLOW_TOKEN_MS: '2500', BENCH_PROXY_REQUESTS: '100',
    BENCH_IDLE_TEAMS: '5', BENCH_IDLE_WINDOW_S: '2', BENCH_IDLE_SETTLE_MS: '500', BENCH_SCALE_SMALL: '20', BENCH_SCALE_LARGE: '200', BENCH_SCALE_IDLE_S: '1',
  };
  for (const [k, v] of Object.entries(small)) process.env[k] ??= v;
}
