import { describe, expect, it } from 'vitest';
import { backoffMs } from './backoff.js';

describe('backoffMs: one rule for every retry of the module', () => {
  it.each([
    // attempt, base, max, random, expected
    [1, 100, 30_000, 0, 50],
    [1, 100, 30_000, 1, 100],
    [1, 100, 30_000, 0.5, 75],
    [2, 100, 30_000, 1, 200],
    [3, 100, 30_000, 0, 200],
    [3, 100, 30_000, 1, 400],
    [20, 1000, 30_000, 1, 30_000], // capped
    [20, 1000, 30_000, 0, 15_000], // half the cap at least
    [0, 100, 30_000, 1, 100], // attempt 0 counts as the first
    [1, 1, 30_000, 0, 1], // never 0
    [10_000, 10_000, 3_600_000, 1, 3_600_000], // no overflow for very late attempts
  ])('attempt %i, base %i, cap %i, random %d → %i ms', (attempt, base, max, random, expected) => {
    expect(backoffMs(attempt, base, max, () => random)).toBe(expected);
  });
});
