import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JiraClient } from '../src/integrations/jira/client/jira-client.js';
import { InMemoryRateLimitStateStore, RATE_LIMIT_STATE_STORE, RedisRateLimitStateStore } from '../src/integrations/jira/client/rate-limit-state.js';
import { FakeAtlassian } from '../src/integrations/jira/testing/fake-atlassian/fake-atlassian.js';
import { FakeRateLimits } from '../src/integrations/jira/testing/fake-atlassian/rate-limits.js';
import { seedIntegration } from './helpers/jira-seed.js';
import { waitUntilHeldBack } from './helpers/rate-limit-probe.js';
import { createTestApp, type TestApp } from './helpers/test-app.js';

/*
 * Two app instances sharing the governor's state through the machine's Redis (127.0.0.1:6379),
 * under a key prefix of this run's own that is deleted afterwards.
 */
const REDIS_URL = 'redis://127.0.0.1:6379';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('rate-limit state shared through Redis', () => {
  const prefix = `jc-test-rl-${randomBytes(6).toString('hex')}:`;
  const clients: Redis[] = [];
  let fake: FakeAtlassian;
  let one: TestApp;
  let two: TestApp;

  const instance = () => {
    const client = new Redis(REDIS_URL, { commandTimeout: 1000, maxRetriesPerRequest: 1 });
    clients.push(client);
    return createTestApp({
      env: { ...fake.env(), JIRA_RETRY_BUDGET_MS: '5000' },
      configure: (b) => b.overrideProvider(RATE_LIMIT_STATE_STORE).useValue(new RedisRateLimitStateStore(client, prefix)),
    });
  };

  beforeAll(async () => {
    fake = await new FakeAtlassian().start();
    one = await instance();
    two = await instance();
  });
  afterAll(async () => {
    await one?.close();
    await two?.close();
    await fake?.stop();
    const admin = new Redis(REDIS_URL);
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length) await admin.del(...keys);
    expect(await admin.keys(`${prefix}*`)).toEqual([]);
    await admin.quit();
    for (const c of clients) await c.quit().catch(() => undefined);
  });

  it('REDIS_URL selects the Redis store; without it the state is in memory', async () => {
    const withRedis = await createTestApp({ env: { ...fake.env(), REDIS_URL } });
    try {
      expect(withRedis.app.get(RATE_LIMIT_STATE_STORE)).toBeInstanceOf(RedisRateLimitStateStore);
    } finally {
      await withRedis.close();
    }
    const withoutRedis = await createTestApp({ env: { ...fake.env(), REDIS_URL: undefined } });
    try {
      expect(withoutRedis.app.get(RATE_LIMIT_STATE_STORE)).toBeInstanceOf(InMemoryRateLimitStateStore);
    } finally {
      await withoutRedis.close();
    }
  });

  it('a 429 seen by one instance holds back the other instance\'s calls of that tenant', async () => {
    const rl = (fake.rateLimits = new FakeRateLimits({ burstPerSecond: 1000, tenantQuota: 100_000, globalQuota: 100_000 }));
    const account = FakeAtlassian.account('shared', 1);
    const s = await seedIntegration(one.dataSource, fake, { account, expiresInMs: 30 * 60_000 });
    rl.scriptNext(s.cloudId, 'jira-quota-tenant-based', 2);
    const first = one.app.get(JiraClient).forTeam(s.teamId).myself();
    while (rl.rejected(s.cloudId).length === 0) await sleep(5);
    const t429 = rl.rejected(s.cloudId)[0].at;
    await waitUntilHeldBack(one, s.teamId);

    const otherClient = two.app.get(JiraClient).forTeam(s.teamId);
    const started = Date.now();
    await expect(otherClient.request('GET', '/rest/api/3/myself', { budgetMs: 500 })).rejects.toMatchObject({ code: 'atlassian_rate_limited' });
    expect(Date.now() - started).toBeLessThan(400);
    const status = await two.http.get('/api/integrations/jira/oauth/status').set((await two.member('admin', s.teamId)).headers);
    expect(status.body.data.rateLimit).toMatchObject({ lastRateLimited: { reason: 'jira-quota-tenant-based' } });
    expect(status.body.data.rateLimit.blockedUntil).not.toBeNull();

    await Promise.all([first, otherClient.myself(), otherClient.get('/rest/api/3/project/search')]);
    const after = rl.log.filter((r) => r.cloudId === s.cloudId && r.at > t429);
    expect(after).toHaveLength(3);
    expect(after.every((r) => r.at >= t429 + 1990)).toBe(true);
    expect(await clients[0].keys(`${prefix}*`)).not.toEqual([]);
  });
});
