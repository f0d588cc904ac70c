/**
 * The decisions of Atlassian's personal-data reporting API (POST /app/report-accounts/), as pure
 * functions with their own table of tests: what an answer means, and whether to try again within
 * the call's total deadline.
 */
import { backoffMs } from '../common/backoff.js';

/** Atlassian takes at most 90 accounts per request. */
export const REPORT_BATCH_LIMIT = 90;

export type AccountAnswer = 'closed' | 'updated';

export interface ReportedAccount {
  accountId: string;
  /** When we last read the account's data (ISO 8601). */
  updatedAt: string;
}

/** What one attempt at a report request came to. */
export type ReportOutcome =
  /** 200: these accounts need erasing (`closed`) or refreshing (`updated`); 204: nothing to do. */
  | { kind: 'answered'; accounts: { accountId: string; status: AccountAnswer }[] }
  /** Worth trying again: 429 (Retry-After, seconds), 5xx, network error or timeout. */
  | { kind: 'transient'; retryAfterSeconds?: number; httpStatus?: number }
  /** Atlassian refused the request (400, 401, 403, ...): retrying now cannot help. */
  | { kind: 'refused'; httpStatus: number };

const ANSWERS = new Set<string>(['closed', 'updated']);

/**
 * Reads one response. Entries for accounts we did not report, or with statuses we do not know,
 * are dropped: an answer must never erase data it was not asked about.
 */
export function readReportAnswer(httpStatus: number | undefined, body: unknown, reported: readonly string[], retryAfterSeconds?: number): ReportOutcome {
  if (httpStatus === undefined || httpStatus === 429 || httpStatus >= 500) return { kind: 'transient', retryAfterSeconds, httpStatus };
  if (httpStatus === 204) return { kind: 'answered', accounts: [] };
  if (httpStatus !== 200) return { kind: 'refused', httpStatus };
  const list = (body as { accounts?: unknown } | null)?.accounts;
  if (!Array.isArray(list)) return { kind: 'transient', httpStatus };
  const asked = new Set(reported);
  const accounts = list
    .filter((a): a is { accountId: string; status: AccountAnswer } => typeof a === 'object' && a !== null
      && typeof (a as Record<string, unknown>).accountId === 'string' && ANSWERS.has(String((a as Record<string, unknown>).status))
      && asked.has((a as { accountId: string }).accountId))
    .map((a) => ({ accountId: a.accountId, status: a.status }));
  return { kind: 'answered', accounts };
}

/**
 * After a transient outcome: how long to wait before the next attempt, or null to give up (the
 * accounts are then reported on a later run). Retry-After is honoured exactly, never shortened;
 * without it, the module's backoff from `baseMs` (doubling, jittered into [50 %, 100 %] of the
 * step). A wait that would end past the deadline is not started.
 */
export function retryDelayMs(outcome: Extract<ReportOutcome, { kind: 'transient' }>, attempt: number, elapsedMs: number,
  deadlineMs: number, baseMs: number, maxAttempts: number, random: () => number = Math.random): number | null {
  if (attempt >= maxAttempts) return null;
  const wait = outcome.retryAfterSeconds !== undefined ? outcome.retryAfterSeconds * 1000 : backoffMs(attempt, baseMs, deadlineMs, random);
  return elapsedMs + wait < deadlineMs ? wait : null;
}
