import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { InMemoryRateLimitStateStore, RedisRateLimitStateStore, type AdmitRequest, type AdmitResult, type RateLimitStateStore } from './rate-limit-state.js';

/** The machine's Redis, with a key prefix of this run's own (deleted afterwards). */
const REDIS_URL = 'redis://127.0.0.1:6379';
const prefix = `jc-test-rl-${randomBytes(6).toString('hex')}:`;
const redis = new Redis(REDIS_URL, { commandTimeout: 2000, maxRetriesPerRequest: 1 });

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
});

const WINDOW_MS = 10_000;
/** Pool 4 a window, share 2; windows start at multiples of WINDOW_MS. */
const ask = (store: RateLimitStateStore, tenant: string, nowMs: number, extra: Partial<AdmitRequest> = {}) => store.admit({
  tenant, windowId: Math.floor(nowMs / WINDOW_MS), windowMs: WINDOW_MS, windowEndsMs: (Math.floor(nowMs / WINDOW_MS) + 1) * WINDOW_MS,
  appCap: 4, shareCap: 2, cost: 1, nowMs, ...extra,
});
const admit = async (store: RateLimitStateStore, tenant: string, nowMs: number) => (await ask(store, tenant, nowMs)).verdict;
/** Just after a window starts (keys are per window, so each test takes its own). */
let windows = Math.floor(Date.now() / WINDOW_MS) + 10;
const freshWindow = () => (windows += 3) * WINDOW_MS + 1;

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

  it('an idle pool is one tenant\'s: a lone tenant takes all of it, then waits for the next window', async () => {
    const s = make();
    const now = freshWindow();
    expect(await Promise.all([1, 2, 3, 4].map(() => admit(s, 'greedy', now)))).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(await ask(s, 'greedy', now)).toMatchObject({ verdict: 'app_pool', poolUsed: 4, goAtMs: now - 1 + WINDOW_MS });
    expect(await admit(s, 'greedy', now + WINDOW_MS)).toBe('ok');
  });

  it('past its share, a tenant yields what a waiting tenant is owed, and gets it back when the other stops asking', async () => {
    const s = make();
    const now = freshWindow();
    expect(await admit(s, 'greedy', now)).toBe('ok');
    expect(await admit(s, 'greedy', now)).toBe('ok');
    expect(await admit(s, 'other', now)).toBe('ok');
    // other asked 1 in the last second: owed min(its share left (1), round(rate × margin × time left)) = 1.
    expect(await ask(s, 'greedy', now)).toMatchObject({ verdict: 'fair_share', poolUsed: 3 });
    expect(await admit(s, 'other', now)).toBe('ok');
    expect(await ask(s, 'greedy', now)).toMatchObject({ verdict: 'app_pool' });
    // A window later other has not asked for the contention period (the window): greedy is alone again.
    const later = now + 2 * WINDOW_MS;
    expect(await Promise.all([1, 2, 3, 4].map(() => admit(s, 'greedy', later)))).toEqual(['ok', 'ok', 'ok', 'ok']);
  });

  it('a tenant with calls waiting is owed the rest of its share; the answer says when to ask again', async () => {
    const s = make();
    const now = freshWindow();
    const big = { appCap: 10, shareCap: 5 };
    for (let i = 0; i < 5; i++) await ask(s, 'greedy', now, big);
    // Blocked elsewhere (pool of another size): other's call was denied, so it has calls waiting.
    expect(await ask(s, 'other', now, { appCap: 5, shareCap: 5 })).toMatchObject({ verdict: 'app_pool' });
    expect(await ask(s, 'greedy', now + 10, big)).toMatchObject({ verdict: 'fair_share', goAtMs: now - 1 + WINDOW_MS });
    expect(await ask(s, 'other', now + 20, big)).toMatchObject({ verdict: 'ok', activeTenants: 2, poolUsed: 6 });
  });

  it('spaces an endpoint\'s calls by its interval and refuses (counting nothing) past the deadline', async () => {
    const s = make();
    const now = freshWindow();
    const burst = { key: 'burst:a:GET /x', intervalMs: 100, deadlineMs: now + 150 };
    expect(await ask(s, 'a', now, { burst })).toMatchObject({ verdict: 'ok', goAtMs: now, poolUsed: 1 });
    expect(await ask(s, 'a', now, { burst })).toMatchObject({ verdict: 'ok', goAtMs: now + 100, poolUsed: 2 });
    expect(await ask(s, 'a', now, { burst })).toMatchObject({ verdict: 'burst', goAtMs: now + 200, poolUsed: 2 });
    await s.refund('a', Math.floor(now / WINDOW_MS), 1);
    expect(await ask(s, 'a', now)).toMatchObject({ verdict: 'ok', poolUsed: 2 });
  });

  it('hands out pacing slots one interval apart, none past the deadline', async () => {
    const s = make();
    const now = Date.now();
    expect(await s.reserveSlot('pace:t', 100, now, now + 150)).toBe(now);
    expect(await s.reserveSlot('pace:t', 100, now, now + 150)).toBe(now + 100);
    expect(await s.reserveSlot('pace:t', 100, now, now + 150)).toBeNull();
  });

  it('one step: a blocked scope admits (and counts) nothing; otherwise it admits, and returns the snapshots either way', async () => {
    const s = make();
    const now = freshWindow();
    const snap = { remaining: 7, limit: 10, resetAtMs: now + 5000, nearLimit: false, updatedAtMs: now };
    await s.saveSnapshot('tenant:a', snap, 60_000);
    await s.block('tenant:a', now + 1000, now);
    const req = { tenant: 'a', windowId: Math.floor(now / WINDOW_MS), windowMs: WINDOW_MS, windowEndsMs: (Math.floor(now / WINDOW_MS) + 1) * WINDOW_MS,
      appCap: 4, shareCap: 2, cost: 1, nowMs: now };
    const blocked = await s.step({ nowMs: now, blockKeys: ['app', 'tenant:a'], admit: req, snapshotScopes: ['tenant:a', 'app'] });
    expect(blocked).toEqual({ blocked: { untilMs: now + 1000, key: 'tenant:a' }, admitted: undefined, snapshots: [snap, null] });
    const later = now + 1001;
    const open = await s.step({ nowMs: later, blockKeys: ['app', 'tenant:a'], admit: { ...req, nowMs: later }, snapshotScopes: ['tenant:a'] });
    expect(open).toEqual({ blocked: { untilMs: 0 }, admitted: { verdict: 'ok', activeTenants: 1, poolUsed: 1, goAtMs: later }, snapshots: [snap] });
    // Without an ask, only the blocks and snapshots.
    expect((await s.step({ nowMs: later, blockKeys: ['tenant:a'], snapshotScopes: [] })).admitted).toBeUndefined();
    expect(await ask(s, 'a', later)).toMatchObject({ poolUsed: 2 });
  });

  it('records a 429\'s block at once; a later answer without a 429 keeps the scope\'s last one', async () => {
    const s = make();
    const now = Date.now();
    const last429 = { reason: 'jira-quota-tenant-based', atMs: now, retryAtMs: now + 2000 };
    await s.record({ snapshots: [{ scope: 'tenant:b', snapshot: { nearLimit: false, updatedAtMs: now, last429 }, ttlMs: 62_000 }],
      block: { key: 'tenant:b', untilMs: now + 2000, nowMs: now } });
    expect(await s.blockedUntil(['tenant:b'], now)).toEqual({ untilMs: now + 2000, key: 'tenant:b' });
    const later = { remaining: 5, limit: 10, nearLimit: false, updatedAtMs: now + 10 };
    await s.record({ snapshots: [{ scope: 'tenant:b', snapshot: later, ttlMs: 60_000 }] });
    expect(await s.loadSnapshot('tenant:b')).toEqual({ ...later, last429 });
    const { snapshots } = await s.step({ nowMs: now + 20, blockKeys: [], snapshotScopes: ['tenant:b'] });
    expect(snapshots).toEqual([{ ...later, last429 }]);
  });

  it('stores snapshots', async () => {
    const s = make();
    const snap = { remaining: 3, limit: 10, resetAtMs: Date.now() + 5000, nearLimit: true, updatedAtMs: Date.now() };
    await s.saveSnapshot('tenant:x', snap, 5000);
    expect(await s.loadSnapshot('tenant:x')).toEqual(snap);
    expect(await s.loadSnapshot('tenant:y')).toBeNull();
  });
});

describe('the Redis ADMIT script and fair-share.ts (through the memory store)', () => {
  it('give the same answers to the same sequence of asks', async () => {
    const memory = new InMemoryRateLimitStateStore();
    const lua = new RedisRateLimitStateStore(redis, `${prefix}agree:`);
    const start = freshWindow();
    let seed = 7;
    const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    const answers: { memory: AdmitResult; redis: AdmitResult }[] = [];
    // Three tenants of different appetites over three windows of a pool of 30, share 12.
    for (let now = start, i = 0; i < 240; i++, now += Math.floor(random() * 250)) {
      const r = random();
      const tenant = r < 0.6 ? 'greedy' : r < 0.85 ? 'steady' : 'rare';
      const req = { appCap: 30, shareCap: 12 };
      answers.push({ memory: await ask(memory, tenant, now, req), redis: await ask(lua, tenant, now, req) });
    }
    expect(answers.map((a) => a.redis)).toEqual(answers.map((a) => a.memory));
    const verdicts = new Set(answers.map((a) => a.memory.verdict));
    expect([...verdicts].sort()).toEqual(['app_pool', 'fair_share', 'ok']);
  });

  it('and the STEP script (the common case\'s one round trip) admits exactly as ADMIT does', async () => {
    const memory = new InMemoryRateLimitStateStore();
    const lua = new RedisRateLimitStateStore(redis, `${prefix}agree-step:`);
    const start = freshWindow();
    let seed = 11;
    const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    const answers: { memory: AdmitResult; redis: AdmitResult | undefined }[] = [];
    for (let now = start, i = 0; i < 240; i++, now += Math.floor(random() * 250)) {
      const r = random();
      const tenant = r < 0.6 ? 'greedy' : r < 0.85 ? 'steady' : 'rare';
      const windowId = Math.floor(now / WINDOW_MS);
      const req = { tenant, windowId, windowMs: WINDOW_MS, windowEndsMs: (windowId + 1) * WINDOW_MS, appCap: 30, shareCap: 12, cost: 1, nowMs: now,
        burst: { key: `burst:${tenant}:GET /x`, intervalMs: 20, deadlineMs: now + 1000 } };
      const step = await lua.step({ nowMs: now, blockKeys: [`tenant:${tenant}`], admit: req, snapshotScopes: [`tenant:${tenant}`, 'app'] });
      answers.push({ memory: await memory.admit(req), redis: step.admitted });
    }
    expect(answers.map((a) => a.redis)).toEqual(answers.map((a) => a.memory));
    expect([...new Set(answers.map((a) => a.memory.verdict))].sort()).toEqual(['app_pool', 'fair_share', 'ok']);
  });
});

describe('RedisRateLimitStateStore: an answer\'s snapshots travel with the next step', () => {
  it('another instance sees them after this instance\'s next step, or after the flush', async () => {
    const p = `${prefix}defer:`;
    const [one, two] = [new RedisRateLimitStateStore(redis, p), new RedisRateLimitStateStore(redis, p)];
    const now = Date.now();
    const snap = (remaining: number) => ({ remaining, limit: 100, nearLimit: false, updatedAtMs: now });
    await one.record({ snapshots: [{ scope: 'tenant:d', snapshot: snap(50), ttlMs: 60_000 }] });
    // Not sent yet: nothing in Redis for the other instance.
    expect((await two.step({ nowMs: now, blockKeys: [], snapshotScopes: ['tenant:d'] })).snapshots).toEqual([null]);
    await one.step({ nowMs: now, blockKeys: [], snapshotScopes: [] });
    expect((await two.step({ nowMs: now, blockKeys: [], snapshotScopes: ['tenant:d'] })).snapshots).toEqual([snap(50)]);
    await one.record({ snapshots: [{ scope: 'tenant:d', snapshot: snap(49), ttlMs: 60_000 }] });
    await one.flush();
    expect(await redis.get(`${p}snap:tenant:d`)).toBe(JSON.stringify(snap(49)));
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
    await s.record({ snapshots: [{ scope: 'tenant:a', snapshot: { remaining: 3, nearLimit: false, updatedAtMs: now }, ttlMs: 60_000 }],
      block: { key: 'burst:a:GET /x', untilMs: now + 3000, nowMs: now } });
    expect(await s.step({ nowMs: now, blockKeys: ['burst:a:GET /x'], snapshotScopes: ['tenant:a'] })).toEqual({
      blocked: { untilMs: now + 3000, key: 'burst:a:GET /x' }, admitted: undefined,
      snapshots: [{ remaining: 3, nearLimit: false, updatedAtMs: now }],
    });
    expect(Date.now() - started).toBeLessThan(3000);
    dead.disconnect();
  });
});
