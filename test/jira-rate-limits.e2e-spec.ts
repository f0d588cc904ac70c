import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JiraClient } from '../src/integrations/jira/client/jira-client.js';
import { FakeAtlassian, type FakeAccount } from '../src/integrations/jira/testing/fake-atlassian/fake-atlassian.js';
import { FakeRateLimits } from '../src/integrations/jira/testing/fake-atlassian/rate-limits.js';
import { seedIntegration } from './helpers/jira-seed.js';
import { waitUntilHeldBack } from './helpers/rate-limit-probe.js';
import { createTestApp, type TestApp } from './helpers/test-app.js';

/*
 * The rate-limit governor in front of JiraClient, against the fake's Atlassian limits
 * (src/integrations/jira/testing/fake-atlassian/rate-limits.ts). Timing bounds are generous (shared, loaded CPU); the
 * assertions that matter count calls at the fake.
 */

let n = 0;
const newTenant = (): FakeAccount => FakeAtlassian.account(`rl${++n}`, 1);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Sleeps to just after the start of the next `windowMs` window, so quota windows line up with the test. */
const alignToWindow = (windowMs: number) => sleep(windowMs - (Date.now() % windowMs) + 30);

describe('Jira rate-limit governor', () => {
  let fake: FakeAtlassian;
  let t: TestApp;
  let jira: JiraClient;

  beforeAll(async () => {
    fake = await new FakeAtlassian().start();
    t = await createTestApp({ env: { ...fake.env(), JIRA_RETRY_BUDGET_MS: '5000', JIRA_APP_POINTS_PER_HOUR: '10000000' } });
    jira = t.app.get(JiraClient);
  });
  afterAll(async () => {
    await t?.close();
    await fake?.stop();
  });

  const seed = async (account = newTenant()) => ({ account, ...(await seedIntegration(t.dataSource, fake, { account, expiresInMs: 30 * 60_000 })) });

  it('sends zero calls of the scope between a 429 and its Retry-After; other scopes and tenants go on', async () => {
    const rl = (fake.rateLimits = new FakeRateLimits({ burstPerSecond: 1000, tenantQuota: 100_000, globalQuota: 100_000 }));
    const a = await seed();
    const b = await seed();
    rl.scriptNext(a.cloudId, 'jira-quota-tenant-based', 2);
    const first = jira.forTeam(a.teamId).get('/rest/api/3/project/search');
    while (rl.rejected(a.cloudId).length === 0) await sleep(5);
    const t429 = rl.rejected(a.cloudId)[0].at;
    await waitUntilHeldBack(t, a.teamId);
    const started = Date.now();
    const others = Array.from({ length: 5 }, (_, i) => jira.forTeam(a.teamId).get(`/rest/api/3/issue/A-${i + 1}`));
    // A caller whose budget ends before the reset is refused at once, with Retry-After.
    const impatient = await jira.forTeam(a.teamId).request('GET', '/rest/api/3/myself', { budgetMs: 500 }).catch((e: unknown) => e);
    expect(impatient).toMatchObject({ code: 'atlassian_rate_limited', status: 503 });
    expect((impatient as { retryAfter: number }).retryAfter).toBeGreaterThanOrEqual(1);
    expect(Date.now() - started).toBeLessThan(400);
    // Another tenant is not held back.
    await expect(jira.forTeam(b.teamId).myself()).resolves.toMatchObject({ accountId: b.account.accountId });
    expect(rl.log.filter((r) => r.cloudId === a.cloudId && r.at > t429 && r.at < t429 + 1990)).toEqual([]);

    await Promise.all([first, ...others]);
    const after = rl.log.filter((r) => r.cloudId === a.cloudId && r.at > t429);
    expect(after).toHaveLength(6);
    expect(after.every((r) => r.status === 200 && r.at >= t429 + 1990)).toBe(true);

    const status = await t.http.get('/api/integrations/jira/oauth/status').set((await t.member('owner', a.teamId)).headers);
    expect(status.body.data.rateLimit).toMatchObject({ lastRateLimited: { reason: 'jira-quota-tenant-based' }, app: { nearLimit: false } });
  });

  it('a burst 429 holds back only that endpoint, a per-issue 429 only that issue', async () => {
    const rl = (fake.rateLimits = new FakeRateLimits({ burstPerSecond: 1000, tenantQuota: 100_000, globalQuota: 100_000 }));
    const a = await seed();
    rl.scriptNext(a.cloudId, 'jira-burst-based', 2);
    const search = jira.forTeam(a.teamId).get('/rest/api/3/search/jql');
    while (rl.rejected(a.cloudId).length === 0) await sleep(5);
    const t429 = rl.rejected(a.cloudId)[0].at;
    await expect(jira.forTeam(a.teamId).myself()).resolves.toBeDefined();
    await expect(jira.forTeam(a.teamId).request('GET', '/rest/api/3/search/jql', { budgetMs: 300 })).rejects.toMatchObject({ code: 'atlassian_rate_limited' });
    await search;
    expect(rl.log.filter((r) => r.path === '/rest/api/3/search/jql' && r.at > t429).map((r) => r.at - t429 >= 1990)).toEqual([true]);

    rl.scriptNext(a.cloudId, 'jira-per-issue-on-write', 2);
    const put = jira.forTeam(a.teamId).request('PUT', '/rest/api/3/issue/ABC-1', { body: { fields: {} } });
    while (rl.rejected(a.cloudId).length < 2) await sleep(5);
    await expect(jira.forTeam(a.teamId).request('PUT', '/rest/api/3/issue/ABC-2', { body: {} })).resolves.toMatchObject({ status: 200 });
    await expect(jira.forTeam(a.teamId).request('PUT', '/rest/api/3/issue/ABC-1', { body: {}, budgetMs: 300 })).rejects.toMatchObject({ code: 'atlassian_rate_limited' });
    await expect(put).resolves.toMatchObject({ status: 200 });
  });

  it('paces a tenant near its quota instead of running into 429s', async () => {
    const windowMs = 4000;
    const rl = (fake.rateLimits = new FakeRateLimits({ burstPerSecond: 1000, tenantQuota: 20, globalQuota: 100_000, windowMs }));
    const a = await seed();
    await alignToWindow(windowMs);
    const windowEnd = Math.ceil(Date.now() / windowMs) * windowMs;
    const client = jira.forTeam(a.teamId);
    for (let i = 0; i < 22; i++) await client.request('GET', `/rest/api/3/issue/P-${i}`, { budgetMs: 10_000 });
    const calls = rl.log.filter((r) => r.cloudId === a.cloudId);
    expect(calls.filter((r) => r.status === 429)).toEqual([]);
    // Unpaced, call 21 would have been a 429 inside the first window; paced, it waits for the reset.
    expect(calls.filter((r) => r.at < windowEnd)).toHaveLength(20);
    const nearLimitCalls = calls.slice(16, 20);
    expect(nearLimitCalls[3].at - nearLimitCalls[0].at).toBeGreaterThan(500);
    const metrics = (await t.http.get('/metrics')).text;
    expect(metrics).toMatch(/jira_api_calls_paced_total\{reason="tenant_near_limit"\} [1-9]/);
    // Per-tenant figures are in the status, never in a metric label (one series per tenant is unbounded).
    expect(metrics).not.toContain(a.cloudId);
    expect(t.logs.lines.some((l) => l.includes('near the limit') && l.includes(a.cloudId))).toBe(true);
  });

  it('never logs or exposes a token through its logs, metrics or the status', async () => {
    const a = await seed();
    const status = await t.http.get('/api/integrations/jira/oauth/status').set((await t.member('owner', a.teamId)).headers);
    const surfaces = [JSON.stringify(status.body), (await t.http.get('/metrics')).text];
    expect(fake.issuedSecrets().filter((secret) => surfaces.some((text) => text.includes(secret)))).toEqual([]);
    expect(t.logs.lines.some((l) => l.includes('Jira answered 429'))).toBe(true);
    expect(t.logs.leaked(fake.issuedSecrets())).toEqual([]);
  });
});

describe('fair share of the app pool', () => {
  let fake: FakeAtlassian;
  let t: TestApp;
  const windowMs = 4000;
  const pool = 40;

  beforeAll(async () => {
    fake = await new FakeAtlassian().start();
    t = await createTestApp({
      env: {
        ...fake.env(),
        JIRA_RETRY_BUDGET_MS: '1000',
        JIRA_APP_QUOTA_WINDOW_SECONDS: String(windowMs / 1000),
        JIRA_APP_POINTS_PER_HOUR: String((pool * 3_600_000) / windowMs),
        JIRA_TENANT_MAX_SHARE: '0.5',
      },
    });
  });
  afterAll(async () => {
    await t?.close();
    await fake?.stop();
  });

  it('work-conserving: a greedy tenant takes what a quiet one does not use, without delaying it or drawing a 429', async () => {
    const rl = (fake.rateLimits = new FakeRateLimits({ burstPerSecond: 1000, tenantQuota: 1000, globalQuota: pool, windowMs }));
    const greedy = await seedIntegration(t.dataSource, fake, { account: newTenant(), expiresInMs: 30 * 60_000 });
    const quiet = await seedIntegration(t.dataSource, fake, { account: newTenant(), expiresInMs: 30 * 60_000 });
    const jira = t.app.get(JiraClient);
    await alignToWindow(windowMs);
    const windowEnd = Math.ceil(Date.now() / windowMs) * windowMs;
    await jira.forTeam(quiet.teamId).myself();
    const burst = Promise.allSettled(Array.from({ length: 60 }, (_, i) => jira.forTeam(greedy.teamId).get(`/rest/api/3/issue/G-${i}`)));
    const quietLatencies: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = Date.now();
      await jira.forTeam(quiet.teamId).get(`/rest/api/3/issue/Q-${i}`);
      quietLatencies.push(Date.now() - started);
    }
    const greedyResults = await burst;
    const greedyOk = greedyResults.filter((r) => r.status === 'fulfilled').length;
    const inWindow = (cloudId: string) => rl.log.filter((r) => r.cloudId === cloudId && r.status === 200 && r.at < windowEnd).length;
    // More than its share (20): what the quiet tenant did not use is not given away.
    expect(greedyOk).toBeGreaterThan(pool / 2);
    expect(inWindow(greedy.cloudId) + inWindow(quiet.cloudId)).toBeGreaterThanOrEqual(pool - 2);
    expect(greedyResults.filter((r) => r.status === 'rejected').every((r) => (r as PromiseRejectedResult).reason.code === 'atlassian_rate_limited')).toBe(true);
    expect(rl.rejected()).toEqual([]);
    expect(Math.max(...quietLatencies)).toBeLessThan(1500);
    const metrics = (await t.http.get('/metrics')).text;
    expect(metrics).toMatch(/jira_api_calls_rejected_total\{reason="(fair_share|app_pool)"\} [1-9]/);
    expect(metrics).not.toContain(greedy.cloudId);
  });

  it('a call that fits its budget waits for the next window instead of failing; one that does not is refused at once', async () => {
    const rl = (fake.rateLimits = new FakeRateLimits({ burstPerSecond: 1000, tenantQuota: 1000, globalQuota: 1000, windowMs }));
    const a = await seedIntegration(t.dataSource, fake, { account: newTenant(), expiresInMs: 30 * 60_000 });
    const client = t.app.get(JiraClient).forTeam(a.teamId);
    // The previous test's tenants stop contending a window after their last call: the pool is a's alone.
    await sleep(windowMs);
    await alignToWindow(windowMs);
    const windowEnd = Math.ceil(Date.now() / windowMs) * windowMs;
    await Promise.all(Array.from({ length: pool }, (_, i) => client.get(`/rest/api/3/issue/W-${i}`)));
    const started = Date.now();
    const refused = await client.request('GET', '/rest/api/3/myself', { budgetMs: 200 }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'atlassian_rate_limited', status: 503 });
    expect((refused as { retryAfter: number }).retryAfter).toBeGreaterThanOrEqual(1);
    expect(Date.now() - started).toBeLessThan(500);
    await expect(client.request('GET', '/rest/api/3/myself', { budgetMs: windowEnd - Date.now() + 2000 })).resolves.toMatchObject({ status: 200 });
    const mine = rl.log.filter((r) => r.cloudId === a.cloudId);
    expect(mine).toHaveLength(pool + 1);
    expect(mine[pool].at).toBeGreaterThanOrEqual(windowEnd);
  });
});
