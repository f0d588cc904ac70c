import type { DataSource } from 'typeorm';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Clock } from '../common/clock.js';
import { JobRunner } from './job-runner.js';

/** The loop of the runner with fake timers: queues only (periodic jobs need the database: test/job-runner.e2e-spec.ts). */
describe('JobRunner loop', () => {
  let runner: JobRunner;
  let runs: number[];
  let release: (() => void) | null;
  const POLL = 30_000;

  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
    // A DataSource the queue path never touches (the runner only builds a repository up front).
    runner = JobRunner.for({ getRepository: () => ({}) } as unknown as DataSource, new Clock());
    runs = [];
    release = null;
  });
  afterEach(async () => {
    release?.();
    await runner.onModuleDestroy();
    vi.useRealTimers();
  });

  const register = (opts: { pollMs?: number; hold?: boolean; stop?: () => void } = {}) =>
    runner.queue({
      name: 'q',
      pollMs: opts.pollMs ?? POLL,
      stop: opts.stop,
      drain: async () => {
        runs.push(Date.now());
        if (opts.hold) await new Promise<void>((r) => (release = r));
      },
    });

  // The loop's timer fires 1 ms after a due time (a timer may fire a little early): hence the +1s.
  it('drains at once on registration, then at each poll, not before', async () => {
    register();
    await vi.advanceTimersByTimeAsync(0);
    expect(runs).toEqual([0]);
    await vi.advanceTimersByTimeAsync(POLL - 1);
    expect(runs).toEqual([0]);
    await vi.advanceTimersByTimeAsync(2);
    expect(runs).toEqual([0, POLL + 1]);
  });

  it('looks again a minute after a failed drain, even with no poll (the database was down)', async () => {
    let failing = true;
    runner.queue({ name: 'q', pollMs: 0, drain: async () => {
      runs.push(Date.now());
      if (failing) throw new Error('connection refused');
    } });
    await vi.advanceTimersByTimeAsync(0);
    expect(runs).toEqual([0]);
    failing = false;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(runs).toEqual([0]);
    await vi.advanceTimersByTimeAsync(1);
    expect(runs).toEqual([0, 60_001]);
    // Succeeded, and no poll: nothing more until woken.
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(runs).toEqual([0, 60_001]);
  });

  it('runs a woken queue at once, and a scheduled retry at its time rather than at the poll', async () => {
    register();
    await vi.advanceTimersByTimeAsync(1_000);
    runner.wake('q');
    await vi.advanceTimersByTimeAsync(0);
    expect(runs).toEqual([0, 1_000]);
    runner.wakeAt('q', 5_000);
    await vi.advanceTimersByTimeAsync(3_999);
    expect(runs).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(2);
    expect(runs).toEqual([0, 1_000, 5_001]);
  });

  it('runs again right after the run in progress when woken meanwhile, never two at once', async () => {
    register({ hold: true });
    await vi.advanceTimersByTimeAsync(0);
    runner.wake('q');
    runner.wake('q');
    await vi.advanceTimersByTimeAsync(100);
    expect(runs).toEqual([0]);
    const first = release!;
    release = null;
    first();
    await vi.advanceTimersByTimeAsync(0);
    expect(runs).toEqual([0, 100]);
  });

  it('without a poll, runs only when woken', async () => {
    register({ pollMs: 0 });
    await vi.advanceTimersByTimeAsync(0);
    expect(runner.armed).toBe(false);
    await vi.advanceTimersByTimeAsync(24 * 3_600_000);
    expect(runs).toEqual([0]);
  });

  it('on shutdown asks the queue to hand its work back, waits for it, and runs nothing more', async () => {
    let stopped = 0;
    register({ hold: true, stop: () => {
      stopped++;
      release?.();
    } });
    await vi.advanceTimersByTimeAsync(0);
    await runner.onModuleDestroy();
    expect(stopped).toBe(1);
    runner.wake('q');
    await vi.advanceTimersByTimeAsync(POLL * 2);
    expect(runs).toEqual([0]);
    expect(runner.armed).toBe(false);
  });
});
