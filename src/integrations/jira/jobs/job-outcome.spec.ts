import { describe, expect, it } from 'vitest';
import { type JobAttempt, type JobRetryPolicy, type JobState, nextJobState } from './job-outcome.js';

const NOW = 1_000_000;
const failed: JobAttempt = { kind: 'failed', error: 'HTTP 500' };
const base: JobRetryPolicy = { baseMs: 1_000, maxMs: 60_000 };
/** random() = 1: the top of backoffMs's jitter range (the whole step); 0: its bottom (half). */
const top = () => 1;
const bottom = () => 0;

describe('nextJobState', () => {
  const table: [string, JobAttempt, number, JobRetryPolicy, () => number, JobState][] = [
    ['success is done, whatever the attempts', { kind: 'succeeded' }, 99, { ...base, maxAttempts: 3 }, top, { kind: 'done' }],
    ['a shutdown releases, even past the limit', { kind: 'aborted' }, 5, { ...base, maxAttempts: 3 }, top, { kind: 'released' }],
    ['first failure: one base step', failed, 1, base, top, { kind: 'retry', atMs: NOW + 1_000 }],
    ['first failure, low jitter: half a step', failed, 1, base, bottom, { kind: 'retry', atMs: NOW + 500 }],
    ['third failure: four steps', failed, 3, base, top, { kind: 'retry', atMs: NOW + 4_000 }],
    ['capped at maxMs', failed, 20, base, top, { kind: 'retry', atMs: NOW + 60_000 }],
    ['below maxAttempts: retried', failed, 2, { ...base, maxAttempts: 3 }, top, { kind: 'retry', atMs: NOW + 2_000 }],
    ['at maxAttempts: dead', failed, 3, { ...base, maxAttempts: 3 }, top, { kind: 'dead' }],
    ['window open: the retry lands at most on its end', failed, 5, { ...base, giveUpAtMs: NOW + 3_000 }, top, { kind: 'retry', atMs: NOW + 3_000 }],
    ['window open, retry well within it', failed, 1, { ...base, giveUpAtMs: NOW + 3_000 }, top, { kind: 'retry', atMs: NOW + 1_000 }],
    ['window closed: dead', failed, 1, { ...base, giveUpAtMs: NOW }, top, { kind: 'dead' }],
    ['either limit kills: attempts first', failed, 3, { ...base, maxAttempts: 3, giveUpAtMs: NOW + 10_000 }, top, { kind: 'dead' }],
  ];

  it.each(table)('%s', (_label, attempt, attempts, policy, random, expected) => {
    expect(nextJobState(attempt, attempts, policy, NOW, random)).toEqual(expected);
  });

  // The notifications' retry rule (NOTIFY_* defaults: 10 s base, 1 h cap, 72 h window), which the worker asks of nextJobState.
  const notify = { baseMs: 10_000, maxMs: 3_600_000 };
  const retryForMs = 72 * 3_600_000;

  it('notifications: doubles from the base, capped, jittered into [50 %, 100 %] of the step (the module\'s backoff)', () => {
    const delay = (attempts: number, random: () => number) => {
      const state = nextJobState(failed, attempts, notify, NOW, random);
      return state.kind === 'retry' ? state.atMs - NOW : null;
    };
    expect([1, 2, 3, 4].map((a) => delay(a, top))).toEqual([10_000, 20_000, 40_000, 80_000]);
    expect(delay(30, top)).toBe(3_600_000);
    expect(delay(30, bottom)).toBe(1_800_000);
    expect(delay(1, bottom)).toBe(5_000);
    expect(delay(1, () => 0.5)).toBe(7_500);
  });

  it('notifications: keep retrying for the whole window (at least 24 hours), then give up', () => {
    const start = 0;
    let now = start;
    let attempts = 0;
    for (;;) {
      attempts++;
      const next = nextJobState(failed, attempts, { ...notify, giveUpAtMs: start + retryForMs }, now, () => 0.5);
      if (next.kind !== 'retry') break;
      expect(next.atMs).toBeGreaterThan(now);
      now = next.atMs;
    }
    expect(now - start).toBe(retryForMs);
    expect(now - start).toBeGreaterThanOrEqual(24 * 3_600_000);
    expect(attempts).toBeGreaterThan(70); // every 30 to 60 minutes once the cap is reached
  });
});
