import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { InMemoryRateLimitStateStore, RedisRateLimitStateStore, type RateLimitStateStore } from './rate-limit-state.js';

/** The machine's Redis, with a key prefix of this run's own (deleted afterwards). */
const REDIS_URL = 'redis://127.0.0.1:6379';
const prefix = `jc-test-rl-${randomBytes(6).toString('hex')}:`;
const redis = new Redis(REDIS_URL, { commandTimeout: 2000, maxRetriesPerRequest: 1 });

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
});

const admit = async (store: RateLimitStateStore, tenant: string, nowMs: number) =>
  (await store.admit({ tenant, windowId: 1, windowEndsMs: nowMs + 10_000, appCap: 4, tenantCap: 2, nowMs, activeMs: 5000 })).verdict;

describe.each([
  ['in memory', () => new InMemoryRateLimitStateStore()],
  ['in Redis', () => new RedisRateLimitStateStore(redis, `${prefix}${randomBytes(4).toString('hex')}:`)],
] as const)('RateLimitStateStore %s', (_name, make) => {
  it('keeps the latest block among keys; an earlier end never shortens a later one', async () => {
    const s = make();
    const now = Date.now();
    await s.block('tenant:a', now + 5000, now);
    await s.block('tenant:a', now + 1000, now);
    await s.block('burst:a:GET /x', now + 2000, now);
    expect(await s.blockedUntil(['app', 'tenant:a', 'burst:a:GET /x'], now)).toEqual({ untilMs: now + 5000, key: 'tenant:a' });
    expect(await s.blockedUntil(['app', 'tenant:b'], now)).toEqual({ untilMs: 0 });
  });

  it('admits a lone tenant up to the pool, but only its share while another tenant is waiting', async () => {
    const s = make();
    const now = Date.now();
    expect(await Promise.all([1, 2, 3].map(() => admit(s, 'greedy', now)))).toEqual(['ok', 'ok', 'ok']);
    expect(await admit(s, 'quiet', now)).toBe('ok');
    expect(await admit(s, 'greedy', now)).toBe('app_pool');
  });

  it('refuses a tenant past its share when another one asked recently', async () => {
    const s = make();
    const now = Date.now();
    expect(await admit(s, 'quiet', now)).toBe('ok');
    expect(await admit(s, 'greedy', now)).toBe('ok');
    expect(await admit(s, 'greedy', now)).toBe('ok');
    expect(await admit(s, 'greedy', now)).toBe('fair_share');
    expect(await s.admit({ tenant: 'third', windowId: 1, windowEndsMs: now + 10_000, appCap: 4, tenantCap: 2, nowMs: now, activeMs: 5000 }))
      .toEqual({ verdict: 'ok', activeTenants: 3 });
    // Tenants that have not asked within activeMs no longer count.
    expect((await s.admit({ tenant: 'third', windowId: 2, windowEndsMs: now + 20_000, appCap: 4, tenantCap: 2, nowMs: now + 6000, activeMs: 5000 })).activeTenants).toBe(1);
  });

  it('hands out pacing slots one interval apart, none past the deadline', async () => {
    const s = make();
    const now = Date.now();
    expect(await s.reserveSlot('pace:t', 100, now, now + 150)).toBe(now);
    expect(await s.reserveSlot('pace:t', 100, now, now + 150)).toBe(now + 100);
    expect(await s.reserveSlot('pace:t', 100, now, now + 150)).toBeNull();
  });

  it('stores snapshots', async () => {
    const s = make();
    const snap = { remaining: 3, limit: 10, resetAtMs: Date.now() + 5000, nearLimit: true, updatedAtMs: Date.now() };
    await s.saveSnapshot('tenant:x', snap, 5000);
    expect(await s.loadSnapshot('tenant:x')).toEqual(snap);
    expect(await s.loadSnapshot('tenant:y')).toBeNull();
  });
});

describe('RedisRateLimitStateStore when Redis does not answer', () => {
  it('falls back to this process\'s memory within the command timeout', async () => {
    // A port nothing listens on: every command fails; none may hang.
    const dead = new Redis('redis://127.0.0.1:1', { commandTimeout: 200, maxRetriesPerRequest: 1, connectTimeout: 200, lazyConnect: false });
    dead.on('error', () => undefined);
    const s = new RedisRateLimitStateStore(dead, prefix);
    const now = Date.now();
    const started = Date.now();
    await s.block('tenant:a', now + 5000, now);
    expect(await s.blockedUntil(['tenant:a'], now)).toEqual({ untilMs: now + 5000, key: 'tenant:a' });
    expect(await admit(s, 'a', now)).toBe('ok');
    expect(Date.now() - started).toBeLessThan(3000);
    dead.disconnect();
  });
});
