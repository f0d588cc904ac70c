import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeAtlassian } from '../src/integrations/jira/testing/fake-atlassian/fake-atlassian.js';
import { waitUntil } from './helpers/free-port.js';
import { PrivateRedis, redisServerBinary } from './helpers/private-redis.js';
import { createTestApp, type TestApp, type TestMember } from './helpers/test-app.js';
import { timed } from './helpers/timed-request.js';

const AUTHORIZE = '/api/integrations/jira/oauth/authorize';
const PER_USER = 3;
/** The promise of docs/operations.md (When Redis or the database stalls): a rate-limited route answers within this while Redis is stalled. */
const STALLED_BOUND_MS = 2000;

const skipReason = redisServerBinary() ? null : 'redis-server not found on PATH';

/*
 * A private redis-server (never the machine's shared one), frozen with SIGSTOP and killed, behind
 * the rate limiter: requests are answered within the bound, counted in the instance's memory
 * meanwhile (the limit still holds), the outage is logged once, and counting resumes in Redis when
 * it is back.
 */
describe.skipIf(skipReason !== null)(`rate limits when Redis stalls or dies${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let redis: PrivateRedis;
  let fake: FakeAtlassian;
  let t: TestApp;
  const password = `redis-secret-${randomBytes(8).toString('hex')}`;
  const tokens = new Set<string>();

  beforeAll(async () => {
    redis = await PrivateRedis.start({ password });
    fake = await new FakeAtlassian().start();
    t = await createTestApp({
      env: { ...fake.env(), REDIS_URL: redis.url, JIRA_RATE_LIMIT_PER_USER: String(PER_USER), JIRA_RATE_LIMIT_WINDOW_SECONDS: '60' },
    });
  }, 60_000);
  afterAll(async () => {
    redis?.thaw();
    await t?.close();
    await redis?.cleanup();
    await fake?.stop();
  });

  const authorize = (m: TestMember) => {
    tokens.add(m.token);
    return timed(t.http.post(AUTHORIZE).set(m.headers).send({}), 10_000);
  };
  const logCount = (pattern: RegExp): number =>
    t.logs.lines.filter((l) => {
      try {
        return pattern.test(String((JSON.parse(l) as { msg?: unknown }).msg));
      } catch {
        return false;
      }
    }).length;
  const FAIL_OPEN = /rate-limit storage unavailable; requests are limited in this instance's memory/;
  const RECOVERED = /rate-limit storage recovered/;

  /**
   * Redis counts again: the storage logged its recovery, and a fresh user is refused after
   * PER_USER requests with the count kept in Redis (its keys are there), not in memory.
   */
  const countsAgain = async (recoveredBefore: number) => {
    if (logCount(RECOVERED) <= recoveredBefore) return false;
    const m = await t.member('owner');
    const statuses: (number | undefined)[] = [];
    for (let i = 0; i <= PER_USER; i++) statuses.push((await authorize(m)).res?.status);
    const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      const keys = await client.keys('jira-connect:throttle:*');
      return statuses.at(-1) === 429 && keys.length > 0;
    } finally {
      client.disconnect();
    }
  };

  it('counts in the private Redis while it is healthy', async () => {
    const m = await t.member('owner');
    const statuses: (number | undefined)[] = [];
    for (let i = 0; i <= PER_USER; i++) statuses.push((await authorize(m)).res?.status);
    expect(statuses).toEqual([...Array(PER_USER).fill(200), 429]);
  });

  it('frozen (SIGSTOP): rate-limited routes answer within 2 s, counted in memory; logged once; recovers after SIGCONT', async () => {
    const m = await t.member('owner');
    const failOpenBefore = logCount(FAIL_OPEN);
    const recoveredBefore = logCount(RECOVERED);
    redis.freeze();
    const answers = [];
    try {
      // More requests than the limit, one after another and then several at once.
      for (let i = 0; i < PER_USER + 2; i++) answers.push(await authorize(m));
      answers.push(...(await Promise.all([1, 2, 3, 4].map(() => authorize(m)))));
    } finally {
      redis.thaw();
    }
    for (const { ms } of answers) expect(ms).toBeLessThan(STALLED_BOUND_MS);
    // Counted in this instance's memory: the limit still holds during the outage.
    expect(answers.map(({ res }) => res?.status)).toEqual([...Array(PER_USER).fill(200), ...Array(answers.length - PER_USER).fill(429)]);
    expect(logCount(FAIL_OPEN) - failOpenBefore, 'one warning per outage, not one per request').toBe(1);

    await waitUntil(() => countsAgain(recoveredBefore), 20_000, 'rate limits counted in Redis again after SIGCONT');
  }, 60_000);

  it('killed: requests answered quickly and counted in memory, one warning; counting resumes in Redis when it restarts', async () => {
    const m = await t.member('owner');
    const failOpenBefore = logCount(FAIL_OPEN);
    const recoveredBefore = logCount(RECOVERED);
    const connectionErrorsBefore = logCount(/redis connection lost \(rate-limit counters\)/);
    await redis.kill();
    const answers = [];
    for (let i = 0; i < PER_USER + 3; i++) answers.push(await authorize(m));
    for (const { ms } of answers) expect(ms).toBeLessThan(STALLED_BOUND_MS);
    expect(answers.map(({ res }) => res?.status)).toEqual([...Array(PER_USER).fill(200), ...Array(answers.length - PER_USER).fill(429)]);
    expect(logCount(FAIL_OPEN) - failOpenBefore).toBe(1);
    // ioredis retries the connection meanwhile; that is reported once per outage too.
    expect(logCount(/redis connection lost \(rate-limit counters\)/) - connectionErrorsBefore).toBeLessThanOrEqual(1);

    await redis.resume();
    await waitUntil(() => countsAgain(recoveredBefore), 20_000, 'rate limits counted in Redis again after restart');
  }, 60_000);

  it('never logs the Redis password or a bearer token, through all of that', () => {
    expect(t.logs.lines.length).toBeGreaterThan(0);
    expect(t.logs.leaked([password, ...tokens])).toEqual([]);
  });
});
