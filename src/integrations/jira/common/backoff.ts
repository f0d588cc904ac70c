/**
 * The module's one backoff, for every retry it schedules (calls to Atlassian, notifications to the
 * product, webhook handlers): `baseMs × 2^(attempt−1)` after `attempt` failures, capped at `maxMs`,
 * then jittered into [50 %, 100 %] of that step ("equal jitter"): a fleet that failed together
 * spreads out, no wait exceeds the cap, and none is shorter than half the step. Never below 1 ms.
 */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const step = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 40));
  return Math.max(1, Math.round(step / 2 + (random() * step) / 2));
}
