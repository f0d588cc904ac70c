import { backoffMs } from '../common/backoff.js';

/** Backoff for calls to Atlassian: exponential with jitter, never shorter than `Retry-After`. */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** Delay before the second attempt; doubles afterwards. */
  baseDelayMs: number;
  /** Total time a caller may spend waiting between attempts. */
  budgetMs: number;
}

/** Cap of one exponential step, so attempt 10 does not wait minutes. */
const MAX_STEP_MS = 30_000;

/**
 * The wait before attempt `attempt + 1`: the module's backoff (`base * 2^(attempt-1)`, jittered
 * into [50 %, 100 %] of that, so a fleet does not retry in lockstep), and at least what
 * `Retry-After` asked for.
 */
export function retryDelayMs(
  attempt: number,
  baseDelayMs: number,
  retryAfterSeconds: number | undefined,
  random: () => number = Math.random,
): number {
  return Math.max(backoffMs(attempt, baseDelayMs, MAX_STEP_MS, random), (retryAfterSeconds ?? 0) * 1000);
}

/**
 * Whether to try again after failed attempt `attempt`, given `elapsedMs` already spent and the
 * `delayMs` the next wait would take. Giving up early beats holding a caller past the budget.
 */
export function shouldRetry(policy: RetryPolicy, attempt: number, elapsedMs: number, delayMs: number): boolean {
  return attempt < policy.maxAttempts && elapsedMs + delayMs <= policy.budgetMs;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
