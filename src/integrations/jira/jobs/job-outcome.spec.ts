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
});
