import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RATE_LIMIT_STATE_STORE, RedisRateLimitStateStore, SNAPSHOT_FLUSH_MS, STEP } from '../src/integrations/jira/client/rate-limit-state.js';
import { FakeAtlassian } from '../src/integrations/jira/testing/fake-atlassian/fake-atlassian.js';
import { FakeRateLimits } from '../src/integrations/jira/testing/fake-atlassian/rate-limits.js';
import { seedIntegration, type SeededIntegration } from './helpers/jira-seed.js';
import { PrivateRedis, redisServerBinary } from './helpers/private-redis.js';
import { createTestApp, type TestApp, type TestMember } from './helpers/test-app.js';

const SPA = '/api/integrations/jira/proxy';
const GOVERNOR_PREFIX = 'jira-connect:jira-rl:';
const skipReason = redisServerBinary() ? null : 'redis-server not found on PATH';

/** One command as MONITOR reports it. */
interface Seen { at: number; name: string; args: string[]; source: string }

/*
 * Issue 18: the governor costs one Redis round trip per Jira call in the common case (budget
 * left, nothing blocked, not near a limit). Counted, not timed: every command a private
 * redis-server receives is read with MONITOR, and the governor's are told apart by its key prefix.
 */
describe.skipIf(skipReason !== null)(`Redis round trips per governed Jira call${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let redis: PrivateRedis;
  let fake: FakeAtlassian;
  let t: TestApp;
  let monitor: Redis;
  let seeded: SeededIntegration;
  let member: TestMember;
  const seen: Seen[] = [];

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    fake = await new FakeAtlassian().start();
    // Limits far away: headers on every answer (remaining, reset), nothing near a limit.
    fake.rateLimits = new FakeRateLimits({ burstPerSecond: 100_000, tenantQuota: 1_000_000, globalQuota: 1_000_000 });
    t = await createTestApp({ env: { ...fake.env(), REDIS_URL: redis.url, JIRA_PROXY_RULES: undefined, JIRA_BURST_PER_SECOND: '10000' } });
    seeded = await seedIntegration(t.dataSource, fake, { expiresInMs: 3_600_000 });
    member = await t.member('member', seeded.teamId);
    const client = new Redis(redis.url);
    monitor = await client.monitor();
    monitor.on('monitor', (time: string, args: string[], source: string) => {
      seen.push({ at: Number(time) * 1000, name: args[0].toLowerCase(), args: args.slice(1), source });
    });
    await client.quit();
  }, 60_000);
  afterAll(async () => {
    monitor?.disconnect();
    await t?.close();
    await redis?.cleanup();
    await fake?.stop();
  });

  /** Commands sent by a client (not by a script), naming a key of the governor's. */
  const governorCommands = (from: number) => seen.slice(from)
    .filter((c) => c.source !== 'lua' && c.args.some((a) => a.startsWith(GOVERNOR_PREFIX)));
  const proxied = async () => {
    const res = await t.http.get(`${SPA}/rest/api/3/myself`).set(member.headers);
    expect(res.status).toBe(200);
  };
  /** MONITOR's stream is asynchronous: wait until a PING sent after the calls has come through it. */
  const settle = async () => {
    const marker = `settle-${seen.length}-${Date.now()}`;
    const client = new Redis(redis.url);
    await client.echo(marker);
    await client.quit();
    for (let i = 0; i < 200 && !seen.some((c) => c.name === 'echo' && c.args[0] === marker); i++) await new Promise((r) => setTimeout(r, 10));
  };

  it('one EVALSHA of the step script per call; the answers\' headers go with the next step (or a flush every 250 ms)', async () => {
    // Warm: each script is sent as EVAL (which loads it) on its first use.
    await proxied();
    await t.app.get<RedisRateLimitStateStore>(RATE_LIMIT_STATE_STORE, { strict: false }).flush();
    await proxied();
    await settle();
    const from = seen.length;
    const started = Date.now();
    const calls = 30;
    for (let i = 0; i < calls; i++) await proxied();
    const elapsed = Date.now() - started;
    await settle();
    const commands = governorCommands(from);
    const steps = commands.filter((c) => c.name === 'evalsha' && c.args[0] === STEP.sha);
    const others = commands.filter((c) => !steps.includes(c));
    const all = seen.slice(from).filter((c) => c.source !== 'lua' && c.name !== 'echo');
    console.log(`ROUND TRIPS: ${calls} proxied calls in ${elapsed} ms: ${steps.length} steps, ${others.length} other governor commands `
      + `(${JSON.stringify(others.map((c) => c.name))}); all commands on the private Redis: ${all.length} ${JSON.stringify(Object.fromEntries(
        [...new Set(all.map((c) => c.name))].map((n) => [n, all.filter((c) => c.name === n).length])))}`);
    expect(steps).toHaveLength(calls);
    // Nothing else but the background flush of snapshots no step took: at most one per SNAPSHOT_FLUSH_MS.
    expect(others.every((c) => c.name === 'evalsha')).toBe(true);
    expect(others.length).toBeLessThanOrEqual(Math.ceil(elapsed / SNAPSHOT_FLUSH_MS) + 1);
    expect(fake.rateLimits!.log.filter((r) => r.status === 429)).toEqual([]);
    // The proxy's per-user limit (the throttler, same Redis) sends its script by SHA too, not its text each time.
    const throttled = seen.slice(from).filter((c) => c.source !== 'lua' && c.args.some((a) => a.startsWith('jira-connect:throttle:')));
    expect(throttled.length).toBeGreaterThanOrEqual(calls);
    expect(throttled.every((c) => c.name === 'evalsha')).toBe(true);
  });

  it('the status read right after a call shows what that call\'s answer said (its step carries this instance\'s unsent snapshot): one round trip', async () => {
    await proxied();
    await settle();
    const from = seen.length;
    const res = await t.http.get('/api/integrations/jira/oauth/status').set(member.headers);
    await settle();
    const commands = governorCommands(from);
    expect(commands.filter((c) => c.name === 'evalsha' && c.args[0] === STEP.sha)).toHaveLength(1);
    // At most the timer's flush besides (when this machine took more than SNAPSHOT_FLUSH_MS between the two requests).
    expect(commands.length).toBeLessThanOrEqual(2);
    const used = fake.rateLimits!.log.filter((r) => r.cloudId === seeded.cloudId).length;
    expect(res.body.data.rateLimit).toMatchObject({ remaining: 1_000_000 - used, nearLimit: false, blockedUntil: null });
    const reader = new Redis(redis.url);
    const stored = JSON.parse((await reader.get(`${GOVERNOR_PREFIX}snap:tenant:${seeded.cloudId}`))!) as { remaining: number };
    await reader.quit();
    expect(stored.remaining).toBe(1_000_000 - used);
  });

  it('after SCRIPT FLUSH (a Redis restart loses its scripts), the step is sent once as EVAL and Redis is not taken for down', async () => {
    const admin = new Redis(redis.url);
    await admin.script('FLUSH');
    await admin.quit();
    const from = seen.length;
    await proxied();
    await proxied();
    await settle();
    // MONITOR shows a script's text escaped: the step's is recognised by a line of its own.
    const isStep = (c: Seen) => (c.name === 'evalsha' && c.args[0] === STEP.sha) || (c.name === 'eval' && c.args[0].includes('saveAll(writes, 6)'));
    const names = governorCommands(from).filter(isStep).map((c) => c.name);
    expect(names).toEqual(['evalsha', 'eval', 'evalsha']);
    const store = t.app.get<RedisRateLimitStateStore>(RATE_LIMIT_STATE_STORE, { strict: false });
    expect(store.availability.isDown).toBe(false);
    expect(store.availability.skipped).toBe(0);
  });
});
