import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Clock } from '../common/clock.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { RateLimitGovernor } from './rate-limit-governor.js';
import { InMemoryRateLimitStateStore } from './rate-limit-state.js';

const settings = { appPointsPerWindow: 1_000_000, tenantMaxShare: 0.5, windowMs: 3_600_000, burstPerSecond: 10, redisTimeoutMs: 250 };

describe('RateLimitGovernor near the app pool\'s limit', () => {
  it('splits the app\'s pace between tenants: many callers of one tenant do not queue ahead of another tenant', async () => {
    const store = new InMemoryRateLimitStateStore();
    const governor = new RateLimitGovernor(store, { atlassianRateLimit: settings }, new MetricsService(), new Clock());
    const now = Date.now();
    // 10 points left for the next second: one call every 100 ms, app-wide.
    await store.saveSnapshot('app', { remaining: 10, limit: 100, resetAtMs: now + 1000, nearLimit: true, updatedAtMs: now }, 5000);
    const done: Record<string, number[]> = { greedy: [], quiet: [] };
    const go = (tenant: string) => governor.acquire({ tenant, method: 'GET', path: '/rest/api/3/myself' }, now + 10_000)
      .then(() => done[tenant].push(Date.now() - now));
    const greedy = Array.from({ length: 12 }, () => go('greedy'));
    await go('quiet');
    await Promise.all(greedy);
    // A shared queue would have put the quiet call behind 12 greedy slots (≥ 1.2 s).
    expect(done.quiet[0]).toBeLessThan(600);
    expect(Math.max(...done.greedy)).toBeGreaterThan(1000);
    expect(await new MetricsService().render()).toContain('jira_api_calls_paced_total');
  });
});

describe('RateLimitGovernor sharing the pool (work-conserving; fake timers, in-memory state)', () => {
  // A pool of 20 points per 10 s window, at most half for one tenant while others contend.
  const pool = { appPointsPerWindow: 20, tenantMaxShare: 0.5, windowMs: 10_000, burstPerSecond: 1000, redisTimeoutMs: 250 };
  const WINDOW = 10_000;
  let governor: RateLimitGovernor;
  let metrics: MetricsService;
  let t0: number;
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    vi.setSystemTime(1_000_000 * WINDOW + 1); // just after a window starts
    t0 = Date.now();
    metrics = new MetricsService();
    governor = new RateLimitGovernor(new InMemoryRateLimitStateStore(), { atlassianRateLimit: pool }, metrics, new Clock());
  });
  afterEach(() => vi.useRealTimers());

  const call = (tenant: string, i = 0) => ({ tenant, method: 'GET', path: `/rest/api/3/issue/AB-${i}` });
  /** `n` callers of `tenant` calling back to back until `untilMs`, each call with `budgetMs`; a refused one waits its Retry-After. */
  const callers = (tenant: string, n: number, budgetMs: number, untilMs: number, admittedAt: number[]) =>
    Promise.all(Array.from({ length: n }, async () => {
      while (Date.now() < untilMs) {
        try {
          await governor.acquire(call(tenant), Date.now() + budgetMs);
          admittedAt.push(Date.now());
        } catch (err) {
          await new Promise((r) => setTimeout(r, (err as { retryAfter: number }).retryAfter * 1000));
        }
      }
    }));
  /** Tenant `a` takes the whole pool of the first window. */
  const spendPool = async () => {
    const all = Promise.all(Array.from({ length: 20 }, (_, i) => governor.acquire(call('a', i), t0 + 1000)));
    await vi.advanceTimersByTimeAsync(100);
    await all;
  };
  const inWindow = (times: number[], w: number) => times.filter((at) => at >= t0 - 1 + w * WINDOW && at < t0 - 1 + (w + 1) * WINDOW).length;

  it('an idle pool lets one tenant use it all', async () => {
    const greedy: number[] = [];
    const done = callers('greedy', 5, 2000, t0 + 2 * WINDOW, greedy);
    await vi.advanceTimersByTimeAsync(2 * WINDOW + 1000);
    await done;
    // The whole pool in each window, not the 10 of its share.
    expect([inWindow(greedy, 0), inWindow(greedy, 1)]).toEqual([20, 20]);
  });

  it('a second tenant arriving gets its share within one window, and the first keeps the rest', async () => {
    const greedy: number[] = [];
    const second: number[] = [];
    const first = callers('greedy', 5, 2000, t0 + 4 * WINDOW, greedy);
    await vi.advanceTimersByTimeAsync(WINDOW + 5000); // arrives mid-window 1, after greedy has taken the pool
    const late = callers('second', 5, 2000, t0 + 4 * WINDOW, second);
    await vi.advanceTimersByTimeAsync(3 * WINDOW);
    await Promise.all([first, late]);
    expect(inWindow(greedy, 1)).toBe(20);
    // In the next window both want more than their share: each gets it, and the pool is fully used.
    for (const w of [2, 3]) {
      expect(inWindow(second, w)).toBeGreaterThanOrEqual(10);
      expect(inWindow(greedy, w)).toBeGreaterThanOrEqual(9);
      expect(inWindow(second, w) + inWindow(greedy, w)).toBe(20);
    }
  });

  it('a quiet tenant keeps what it uses while a greedy one takes everything else', async () => {
    const greedy: number[] = [];
    const quiet: number[] = [];
    const quietCaller = (async () => {
      // One call every 2 s (a quarter of the pool), each with a 2 s budget: never refused.
      for (let i = 0; i < 15; i++) {
        await governor.acquire(call('quiet', i), Date.now() + 2000);
        quiet.push(Date.now());
        await new Promise((r) => setTimeout(r, 2000));
      }
    })();
    const busy = callers('greedy', 5, 2000, t0 + 3 * WINDOW, greedy);
    await vi.advanceTimersByTimeAsync(3 * WINDOW + 2000);
    await Promise.all([quietCaller, busy]);
    expect(quiet).toHaveLength(15);
    for (const w of [1, 2]) {
      expect(inWindow(quiet, w)).toBe(5);
      // The pool is used up, and the greedy tenant has more than its share (10): the quiet one does not need it.
      expect(inWindow(greedy, w) + inWindow(quiet, w)).toBeGreaterThanOrEqual(19);
      expect(inWindow(greedy, w)).toBeGreaterThanOrEqual(14);
    }
  });

  it('a call that fits its budget waits for the pool instead of failing; one that cannot fit is refused at once', async () => {
    await spendPool();
    vi.setSystemTime(t0 + WINDOW - 1500); // the pool is spent; 1.5 s to the next window
    const fits = governor.acquire(call('a'), Date.now() + 2000).then(() => Date.now());
    const refused = await governor.acquire(call('a'), Date.now() + 1000).then(() => 'admitted', (err: unknown) => err);
    expect(refused).toMatchObject({ code: 'atlassian_rate_limited', status: 503, retryAfter: 2 });
    await vi.advanceTimersByTimeAsync(2000);
    expect(await fits).toBeGreaterThanOrEqual(t0 - 1 + WINDOW);
    expect(await metrics.render()).toMatch(/jira_api_calls_paced_total\{reason="app_pool_wait"\} 1/);
  });

  it('waiting calls of one tenant go in arrival order', async () => {
    await spendPool();
    vi.setSystemTime(t0 + WINDOW - 1000);
    const order: number[] = [];
    const waiting = Array.from({ length: 5 }, (_, i) => governor.acquire(call('a', i), Date.now() + 3000).then(() => order.push(i)));
    await vi.advanceTimersByTimeAsync(2000);
    await Promise.all(waiting);
    expect(order).toEqual([0, 1, 2, 3, 4]);
  });

  it('paces the first wave of an endpoint at the configured per-second limit, then at the one Atlassian reports', async () => {
    governor = new RateLimitGovernor(new InMemoryRateLimitStateStore(), { atlassianRateLimit: { ...pool, appPointsPerWindow: 1000, burstPerSecond: 10 } }, metrics, new Clock());
    const sent: number[] = [];
    const wave = Array.from({ length: 10 }, (_, i) => governor.acquire(call('a', i), Date.now() + 5000).then(() => sent.push(Date.now() - t0)));
    await vi.advanceTimersByTimeAsync(2000);
    await Promise.all(wave);
    // 10 a second with 20 % headroom: 125 ms apart, so no second holds more than the limit even when sends jitter.
    expect(sent).toEqual(Array.from({ length: 10 }, (_, i) => i * 125));
    await governor.observe(call('a'), { status: 200, headers: { 'x-ratelimit-limit': '100', 'x-ratelimit-remaining': '99' } });
    const start = Date.now();
    const next: number[] = [];
    const second = Array.from({ length: 3 }, (_, i) => governor.acquire(call('a', i), Date.now() + 5000).then(() => next.push(Date.now() - start)));
    await vi.advanceTimersByTimeAsync(1000);
    await Promise.all(second);
    expect(next).toEqual([0, 13, 26]);
  });

  it('counts its own calls on their way against the tenant\'s remaining quota: the rest wait for the reset, none draws a 429', async () => {
    const store = new InMemoryRateLimitStateStore();
    governor = new RateLimitGovernor(store, { atlassianRateLimit: { ...pool, appPointsPerWindow: 1000 } }, metrics, new Clock());
    // The last response said 25 of 100 points left until the reset 5 s from now: not near the limit, no pacing.
    await store.saveSnapshot('tenant:a', { remaining: 25, limit: 100, resetAtMs: t0 + 5000, nearLimit: false, updatedAtMs: t0 }, 60_000);
    const wentAt: number[] = [];
    const calls = Array.from({ length: 27 }, (_, i) => governor.acquire({ tenant: 'a', method: 'GET', path: `/rest/api/3/project/${i}` }, t0 + 8000)
      .then(() => wentAt.push(Date.now() - t0)));
    await vi.advanceTimersByTimeAsync(6000);
    await Promise.all(calls);
    // 25 at once (the endpoint's 1 ms spacing aside), then the two without a point at the reset.
    expect(wentAt.filter((at) => at < 100)).toHaveLength(25);
    expect(wentAt.filter((at) => at >= 5000)).toHaveLength(2);
    expect(await metrics.render()).toMatch(/jira_api_calls_paced_total\{reason="tenant_quota_spent"\} 2/);
  });
});
