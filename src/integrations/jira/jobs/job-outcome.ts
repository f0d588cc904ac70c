import { backoffMs } from '../common/backoff.js';

/** How one attempt at a leased job ended. */
export type JobAttempt =
  | { kind: 'succeeded' }
  | { kind: 'failed'; error: string }
  /** The process is shutting down and gave the work up mid-way: not the job's fault. */
  | { kind: 'aborted' };

/** When a job stops being retried (either or both). */
export interface JobRetryPolicy {
  /** The module's backoff (common/backoff.ts) between attempts. */
  baseMs: number;
  maxMs: number;
  /** Dead-letter after this many attempts. */
  maxAttempts?: number;
  /** Dead-letter once this time (ms) has passed; the last retry lands on it rather than past it. */
  giveUpAtMs?: number;
}

/** What the runner writes back after an attempt. */
export type JobState =
  /** Finished: the queue marks the row done; a periodic job is due again one period later. */
  | { kind: 'done' }
  /** Pending again at `atMs` (ms), its lease cleared; the attempt counts. */
  | { kind: 'retry'; atMs: number }
  /** No more attempts: a queue marks the row dead (or failed); a periodic job waits for its next period. */
  | { kind: 'dead' }
  /** Lease cleared, due at once, and the attempt does not count. */
  | { kind: 'released' };

/**
 * The one decision every leased job makes after an attempt (`attempts` counts the one that just
 * ended): success is done; a shutdown hands the work back; a failure is retried after the module's
 * backoff (one jitter rule: backoffMs) until the attempts or the time window run out.
 */
export function nextJobState(attempt: JobAttempt, attempts: number, policy: JobRetryPolicy, nowMs: number,
  random: () => number = Math.random): JobState {
  if (attempt.kind === 'succeeded') return { kind: 'done' };
  if (attempt.kind === 'aborted') return { kind: 'released' };
  if (policy.maxAttempts !== undefined && attempts >= policy.maxAttempts) return { kind: 'dead' };
  if (policy.giveUpAtMs !== undefined && nowMs >= policy.giveUpAtMs) return { kind: 'dead' };
  const atMs = nowMs + backoffMs(attempts, policy.baseMs, policy.maxMs, random);
  return { kind: 'retry', atMs: policy.giveUpAtMs === undefined ? atMs : Math.min(atMs, policy.giveUpAtMs) };
}
