import { describe, expect, it } from 'vitest';
import { retryDelayMs, shouldRetry } from './retry-policy.js';

describe('retry policy', () => {
  it('doubles the delay per attempt, jittered between half and all of the step', () => {
    expect(retryDelayMs(1, 100, undefined, () => 0)).toBe(50);
    expect(retryDelayMs(1, 100, undefined, () => 1)).toBe(100);
    expect(retryDelayMs(3, 100, undefined, () => 0)).toBe(200);
    expect(retryDelayMs(3, 100, undefined, () => 1)).toBe(400);
  });

  it('never waits less than Retry-After', () => {
    expect(retryDelayMs(1, 100, 2, () => 1)).toBe(2000);
    expect(retryDelayMs(5, 1000, 1, () => 1)).toBe(16_000);
  });

  it('caps one exponential step at 30 s', () => {
    expect(retryDelayMs(20, 1000, undefined, () => 1)).toBe(30_000);
  });

  it('stops at the attempt limit and when the next wait would overrun the budget', () => {
    const policy = { maxAttempts: 3, baseDelayMs: 100, budgetMs: 1000 };
    expect(shouldRetry(policy, 1, 0, 100)).toBe(true);
    expect(shouldRetry(policy, 3, 0, 100)).toBe(false);
    expect(shouldRetry(policy, 1, 950, 100)).toBe(false);
    expect(shouldRetry(policy, 2, 900, 100)).toBe(true);
  });
});
