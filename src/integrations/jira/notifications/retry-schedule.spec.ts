import { describe, expect, it } from 'vitest';
import { nextAttemptAt, nextRetryDelayMs } from './retry-schedule.js';

const DEFAULTS = { baseMs: 10_000, maxMs: 3_600_000, retryForMs: 72 * 3_600_000 };

describe('notification retry schedule', () => {
  it('doubles from the base, capped, jittered into [50 %, 100 %] of the step (the module\'s backoff)', () => {
    expect([1, 2, 3, 4].map((a) => nextRetryDelayMs(DEFAULTS, a, () => 1))).toEqual([10_000, 20_000, 40_000, 80_000]);
    expect(nextRetryDelayMs(DEFAULTS, 30, () => 1)).toBe(3_600_000);
    expect(nextRetryDelayMs(DEFAULTS, 30, () => 0)).toBe(1_800_000);
    expect(nextRetryDelayMs(DEFAULTS, 1, () => 0)).toBe(5_000);
    expect(nextRetryDelayMs(DEFAULTS, 1, () => 0.5)).toBe(7_500);
  });

  it('keeps retrying for the whole window (at least 24 hours), then gives up', () => {
    const start = 0;
    let now = start;
    let attempts = 0;
    for (;;) {
      attempts++;
      const next = nextAttemptAt(DEFAULTS, attempts, start, now, () => 0.5);
      if (!next) break;
      expect(next.getTime()).toBeGreaterThan(now);
      now = next.getTime();
    }
    expect(now - start).toBe(DEFAULTS.retryForMs);
    expect(now - start).toBeGreaterThanOrEqual(24 * 3_600_000);
    expect(attempts).toBeGreaterThan(70); // every 30 to 60 minutes once the cap is reached
  });
});
