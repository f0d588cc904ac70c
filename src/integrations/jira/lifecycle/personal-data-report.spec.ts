import { describe, expect, it } from 'vitest';
import { readReportAnswer, retryDelayMs, type ReportOutcome } from './personal-data-report.js';

describe('readReportAnswer', () => {
  const asked = ['a1', 'a2', 'a3'];
  const table: [string, number | undefined, unknown, number | undefined, ReportOutcome][] = [
    ['204: nothing to do', 204, '', undefined, { kind: 'answered', accounts: [] }],
    ['200 with closed and updated', 200, { accounts: [{ accountId: 'a1', status: 'closed' }, { accountId: 'a3', status: 'updated' }] }, undefined,
      { kind: 'answered', accounts: [{ accountId: 'a1', status: 'closed' }, { accountId: 'a3', status: 'updated' }] }],
    ['200 naming an account we did not report: ignored', 200, { accounts: [{ accountId: 'zz', status: 'closed' }] }, undefined,
      { kind: 'answered', accounts: [] }],
    ['200 with an unknown status: ignored', 200, { accounts: [{ accountId: 'a2', status: 'deleted' }] }, undefined, { kind: 'answered', accounts: [] }],
    ['200 without a list: transient', 200, '<html>', undefined, { kind: 'transient', httpStatus: 200 }],
    ['429 with Retry-After', 429, {}, 30, { kind: 'transient', retryAfterSeconds: 30, httpStatus: 429 }],
    ['503', 503, {}, undefined, { kind: 'transient', retryAfterSeconds: undefined, httpStatus: 503 }],
    ['network error', undefined, undefined, undefined, { kind: 'transient', retryAfterSeconds: undefined, httpStatus: undefined }],
    ['400', 400, {}, undefined, { kind: 'refused', httpStatus: 400 }],
    ['401', 401, {}, undefined, { kind: 'refused', httpStatus: 401 }],
    ['403 (missing scope)', 403, {}, undefined, { kind: 'refused', httpStatus: 403 }],
  ];
  it.each(table)('%s', (_label, status, body, retryAfter, expected) => {
    expect(readReportAnswer(status, body, asked, retryAfter)).toEqual(expected);
  });
});

describe('retryDelayMs', () => {
  const t = (retryAfterSeconds?: number) => ({ kind: 'transient' as const, retryAfterSeconds });
  const table: [string, ReturnType<typeof t>, number, number, number | null][] = [
    // label, outcome, attempt, elapsed ms, expected (deadline 60 s, backoff 1 s, 5 attempts)
    ['Retry-After honoured exactly', t(2), 1, 0, 2000],
    ['Retry-After that fits the deadline', t(50), 1, 5000, 50_000],
    ['Retry-After past the deadline: give up without waiting', t(120), 1, 0, null],
    ['Retry-After ending exactly at the deadline: give up', t(55), 1, 5000, null],
    ['no Retry-After: 1 s (the full step, random 1), then doubling', t(), 1, 0, 1000],
    ['third attempt: 4 s', t(), 3, 0, 4000],
    ['last attempt used', t(), 5, 0, null],
    ['deadline already spent', t(), 1, 60_000, null],
  ];
  it.each(table)('%s', (_label, outcome, attempt, elapsed, expected) => {
    expect(retryDelayMs(outcome, attempt, elapsed, 60_000, 1000, 5, () => 1)).toBe(expected);
  });
  it('jitters the backoff into half to all of the step (the module\'s one rule), never Retry-After', () => {
    expect(retryDelayMs(t(), 3, 0, 60_000, 1000, 5, () => 0)).toBe(2000);
    expect(retryDelayMs(t(3), 1, 0, 60_000, 1000, 5, () => 0)).toBe(3000);
  });
});
