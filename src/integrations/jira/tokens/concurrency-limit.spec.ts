import { describe, expect, it } from 'vitest';
import { ConcurrencyLimit, SlotWaitTimeout } from './concurrency-limit.js';

const far = () => performance.now() + 60_000;

describe('ConcurrencyLimit', () => {
  it('never lets more than its limit hold a slot at once, and serves waiters in arrival order', async () => {
    const limit = new ConcurrencyLimit(3);
    let active = 0;
    let peak = 0;
    const started: number[] = [];
    await Promise.all(Array.from({ length: 10 }, async (_, i) => {
      const release = await limit.acquire(far());
      started.push(i);
      active += 1;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, 5));
      active -= 1;
      release();
    }));
    expect(peak).toBe(3);
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('a release is idempotent: releasing twice frees one slot', async () => {
    const limit = new ConcurrencyLimit(1);
    const release = await limit.acquire(far());
    const second = limit.acquire(far());
    const third = limit.acquire(performance.now() + 100);
    release();
    release();
    await second;
    await expect(third).rejects.toBeInstanceOf(SlotWaitTimeout);
  });

  it('a waiter gives up at its deadline, leaves the queue, and later waiters still get the slot', async () => {
    const limit = new ConcurrencyLimit(1);
    const release = await limit.acquire(far());
    const started = performance.now();
    await expect(limit.acquire(performance.now() + 50)).rejects.toBeInstanceOf(SlotWaitTimeout);
    expect(performance.now() - started).toBeLessThan(1_000);
    const later = limit.acquire(far());
    release();
    const releaseLater = await later;
    releaseLater();
    await expect(limit.acquire(performance.now())).resolves.toEqual(expect.any(Function));
  });

  it('a deadline already passed fails at once when no slot is free', async () => {
    const limit = new ConcurrencyLimit(1);
    await limit.acquire(far());
    await expect(limit.acquire(performance.now() - 1)).rejects.toBeInstanceOf(SlotWaitTimeout);
  });
});
