import { describe, expect, it } from 'vitest';
import { lockPollDelayMs } from './jira-token-manager.service.js';

describe('lockPollDelayMs', () => {
  it('doubles from 20 ms up to 200 ms, jittered between 50 % and 150 %', () => {
    expect([0, 1, 2, 3, 4, 10].map((w) => lockPollDelayMs(w, () => 0.5))).toEqual([20, 40, 80, 160, 200, 200]);
    expect(lockPollDelayMs(0, () => 0)).toBe(10);
    expect(lockPollDelayMs(10, () => 0.999)).toBeLessThanOrEqual(300);
  });
});
