import { backoffMs } from '../common/backoff.js';
import { nextJobState } from '../jobs/job-outcome.js';

export interface RetrySchedule {
  baseMs: number;
  maxMs: number;
  /** Give up (status `failed`) once this long has passed since the event. */
  retryForMs: number;
}

/**
 * Delay before attempt `attempt + 1`, after `attempt` failures: the module's backoff (base ×
 * 2^(attempt−1), capped at maxMs, jittered into [50 %, 100 %] of that), so a receiver that was
 * down is not hit by every instance at once.
 */
export function nextRetryDelayMs(schedule: RetrySchedule, attempt: number, random: () => number = Math.random): number {
  return backoffMs(attempt, schedule.baseMs, schedule.maxMs, random);
}

/** The next attempt's time, or null when the event is too old to retry (the job runner's rule: nextJobState). */
export function nextAttemptAt(schedule: RetrySchedule, attempt: number, occurredAtMs: number, nowMs: number,
  random: () => number = Math.random): Date | null {
  // The last retry lands at the end of the window rather than being dropped before it.
  const state = nextJobState({ kind: 'failed', error: '' }, attempt,
    { baseMs: schedule.baseMs, maxMs: schedule.maxMs, giveUpAtMs: occurredAtMs + schedule.retryForMs }, nowMs, random);
  return state.kind === 'retry' ? new Date(state.atMs) : null;
}
