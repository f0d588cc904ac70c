import { describe, expect, it } from 'vitest';
import { ConcurrencyLimit } from './concurrency-limit.js';

describe('ConcurrencyLimit', () => {
  it('never runs more than its limit at once, and runs every task in arrival order', async () => {
    const limit = new ConcurrencyLimit(3);
    let active = 0;
    let peak = 0;
    const started: number[] = [];
    await Promise.all(Array.from({ length: 10 }, (_, i) => limit.run(async () => {
      started.push(i);
      active += 1;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, 5));
      active -= 1;
    })));
    expect(peak).toBe(3);
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('frees the slot when a task fails', async () => {
    const limit = new ConcurrencyLimit(1);
    await expect(limit.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(limit.run(async () => 'ok')).resolves.toBe('ok');
  });
});
