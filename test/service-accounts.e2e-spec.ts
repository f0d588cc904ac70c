import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Clock } from '../src/integrations/jira/common/clock.js';
import { JiraTokenManager } from '../src/integrations/jira/tokens/jira-token-manager.service.js';
import { JiraWebhookRenewalJob } from '../src/integrations/jira/webhooks/jira-webhook-renewal.job.js';
import { FakeAtlassian, type FakeServiceAccount } from '../src/integrations/jira/testing/fake-atlassian/fake-atlassian.js';
import { connect, dumpOAuthTables, integrationRow } from './helpers/oauth-flow.js';
import { NotificationReceiver } from './helpers/notification-receiver.js';
import { ShiftedClock } from './helpers/shifted-clock.js';
import { createTestApp, type TestApp, type TestMember } from './helpers/test-app.js';
import { WebhookProbeModule } from './helpers/webhook-probe.js';

/*
 * Service-account connections (issue 20): an organisation's OAuth 2.0 client-credentials
 * credential instead of a user's 3LO grant, against the fake Atlassian's client_credentials grant.
 */

const SA = '/api/integrations/jira/service-account';
const STATUS = '/api/integrations/jira/oauth/status';
const PROXY = '/api/integrations/jira/proxy';
const ADMIN_KEY = 'adm_' + 's'.repeat(40);
const HOOK_URL = 'https://hooks.example.test/api/integrations/jira/webhooks';
const HOUR = 3600_000;

describe('service-account connections', () => {
  const fake = new FakeAtlassian();
  const clock = new ShiftedClock();
  const receiver = new NotificationReceiver();
  let t: TestApp;
  /** A second instance on the same database: single flight must hold across processes. */
  let second: TestApp;
  /** Every secret the tests handed to the app, for the leak checks. */
  const handedOut: string[] = [];

  const env = () => ({ ...fake.env(), JIRA_RATE_LIMIT_PER_USER: '1000', ADMIN_API_KEYS: ADMIN_KEY,
    JIRA_WEBHOOK_URL: HOOK_URL, JIRA_WEBHOOK_JOB_INTERVAL_SECONDS: '0', JIRA_REFRESH_MAX_ATTEMPTS: '2', JIRA_REFRESH_BACKOFF_MS: '20',
    NOTIFY_WEBHOOK_URL: receiver.url, NOTIFY_WEBHOOK_SECRET: 'n'.repeat(40), NOTIFY_POLL_INTERVAL_MS: '50' });

  beforeAll(async () => {
    await fake.start();
    await receiver.start();
    t = await createTestApp({ env: env(), imports: [WebhookProbeModule], configure: (b) => b.overrideProvider(Clock).useValue(clock) });
    second = await createTestApp({ env: env(), imports: [WebhookProbeModule], configure: (b) => b.overrideProvider(Clock).useValue(clock) });
  });
  afterAll(async () => {
    await second?.close();
    await t?.close();
    await receiver.stop();
    await fake.stop();
  });

  const register = (options?: Parameters<FakeAtlassian['registerServiceAccount']>[0]): FakeServiceAccount => {
    const sa = fake.registerServiceAccount(options);
    handedOut.push(sa.clientSecret);
    return sa;
  };
  const body = (sa: FakeServiceAccount, overrides: Record<string, unknown> = {}) =>
    ({ clientId: sa.clientId, clientSecret: sa.clientSecret, siteUrl: sa.account.sites[0].url, ...overrides });
  const put = (m: TestMember, payload: unknown, via: TestApp = t) => via.http.put(SA).set(m.headers).send(payload as object);
  const connectSa = async (m: TestMember, sa = register()) => {
    const res = await put(m, body(sa));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return sa;
  };
  const outbox = async (teamId: string, type: string): Promise<unknown[]> =>
    ((await t.dataSource.query('SELECT data FROM jira_notification_outbox WHERE team_id = $1 AND type = $2', [teamId, type])) as { data: unknown }[])
      .map((r) => r.data);

  it('refuses a member (403) and malformed bodies (400), storing nothing and asking Atlassian nothing', async () => {
    const owner = await t.member('owner');
    const member = await t.member('member', owner.teamId);
    const sa = register();
    const mark = fake.tokenRequests.length;
    const refused = await put(member, body(sa));
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('insufficient_role');
    for (const bad of [{}, { ...body(sa), clientSecret: '' }, { ...body(sa), clientId: 42 }, { clientId: sa.clientId, clientSecret: sa.clientSecret }]) {
      const res = await put(owner, bad);
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect(res.body.code).toBe('validation_failed');
      expect(JSON.stringify(res.body)).not.toContain(sa.clientSecret);
    }
    const notCloud = await put(owner, body(sa, { siteUrl: 'https://evil.example.com' }));
    expect(notCloud.status).toBe(400);
    expect(notCloud.body.code).toBe('invalid_site_url');
    expect(fake.tokenRequests.length).toBe(mark);
    expect(await integrationRow(t, owner.teamId)).toBeUndefined();
  });

  it('a wrong secret is 422 jira_service_account_rejected, an unreachable site 422 jira_site_not_accessible, Atlassian down 502; nothing stored', async () => {
    const owner = await t.member('owner');
    const sa = register();
    const wrong = await put(owner, body(sa, { clientSecret: 'not-the-secret' }));
    expect(wrong.status).toBe(422);
    expect(wrong.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(wrong.body).toMatchObject({ code: 'jira_service_account_rejected', atlassianError: 'invalid_client' });
    expect(fake.mintRequests(sa.clientId).map((r) => r.status)).toEqual([401]);

    const elsewhere = await put(owner, body(sa, { siteUrl: 'https://other-site.atlassian.net' }));
    expect(elsewhere.status).toBe(422);
    expect(elsewhere.body).toMatchObject({ code: 'jira_site_not_accessible', accessibleSites: [sa.account.sites[0].url] });

    fake.failNextTokenRequests({ status: 503, grant: 'client_credentials' });
    const down = await put(owner, body(sa));
    expect(down.status).toBe(502);
    expect(down.body.code).toBe('atlassian_unavailable');

    expect(await integrationRow(t, owner.teamId)).toBeUndefined();
    expect((await t.http.get(STATUS).set(owner.headers)).body.data.status).toBe('not_connected');
  });

  it('connects, replacing a 3LO grant; status says service account and never shows the secret; no webhooks are registered', async () => {
    const owner = await t.member('owner');
    expect((await connect(t, fake, owner)).res.status).toBe(200);
    const oauthRow = await integrationRow(t, owner.teamId);
    expect(oauthRow).toMatchObject({ connection_type: 'oauth', client_credential: null });
    expect(oauthRow?.refresh_token).not.toBeNull();

    const sa = register();
    const res = await put(owner, body(sa, { siteUrl: sa.account.sites[0].url.replace('https://', '').toUpperCase() }));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const site = sa.account.sites[0];
    expect(res.body.data).toMatchObject({
      status: 'connected', connectionType: 'service_account', site: { cloudId: site.id, url: site.url, name: site.name },
      consentExpiresAt: null, webhooks: { state: 'unsupported', expiresAt: null, lastDeliveryAt: null },
      connectedBy: { userId: owner.userId, atlassianAccountId: null },
    });
    expect(Date.parse(res.body.data.accessTokenExpiresAt) - clock.nowMs()).toBeGreaterThan(HOUR - 60_000);
    const status = await t.http.get(STATUS).set(owner.headers);
    expect(status.body.data).toEqual(res.body.data);
    expect(status.text).not.toContain(sa.clientSecret);
    expect(res.text).not.toContain(sa.clientSecret);

    // One row, nothing of the grant left; the secret sealed (not readable in the row).
    const row = await integrationRow(t, owner.teamId);
    expect(row).toMatchObject({ connection_type: 'service_account', refresh_token: null, consented_at: null, atlassian_account_id: null });
    expect(String(row?.client_credential)).toMatch(/^v\d+:/);
    expect(JSON.stringify(row)).not.toContain(sa.clientSecret);
    expect(await outbox(owner.teamId, 'connected')).toContainEqual(expect.objectContaining({ cloudId: site.id, connectionType: 'service_account' }));

    // Webhook registration is skipped for service accounts, on connect and by the renewal job.
    await t.app.get(JiraWebhookRenewalJob).runOnce();
    expect(fake.webhooks.count('register', site.id)).toBe(0);
    expect(fake.webhooks.count('list', site.id)).toBe(0);
    expect((await t.dataSource.query('SELECT 1 FROM jira_webhook_registrations WHERE team_id = $1', [owner.teamId])).length).toBe(0);
  });

  it('verify and a proxied call go out as the service account', async () => {
    const owner = await t.member('owner');
    const member = await t.member('member', owner.teamId);
    const sa = await connectSa(owner);
    const verified = await t.http.get(STATUS).query({ verify: 'true' }).set(member.headers);
    expect(verified.body.data.verification).toEqual({ ok: true, accountId: sa.account.accountId });
    const mark = fake.requestLog.length;
    const proxied = await t.http.get(`${PROXY}/rest/api/3/myself`).set(member.headers);
    expect(proxied.status).toBe(200);
    expect(proxied.body.accountId).toBe(sa.account.accountId);
    const sent = fake.requestLog.slice(mark).filter((r) => r.url.startsWith('/ex/jira/'));
    expect(sent.map((r) => r.url)).toEqual([`/ex/jira/${sa.account.sites[0].id}/rest/api/3/myself`]);
    expect(fake.mintRequests(sa.clientId)).toHaveLength(1); // the connect's token serves both
  });

  it('ten concurrent calls with a due token, over two instances, make exactly one mint', async () => {
    const owner = await t.member('owner');
    const sa = await connectSa(owner);
    const before = (await integrationRow(t, owner.teamId))?.access_token;
    expect(fake.mintRequests(sa.clientId)).toHaveLength(1);
    // 30 s of the 60-minute token left on the injected clock: due (renewed ahead of expiry).
    clock.offsetMs = HOUR - 30_000;
    try {
      const calls = Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? t : second).http.get(`${PROXY}/rest/api/3/myself`).set(owner.headers));
      const answers = await Promise.all(calls);
      expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
      expect(fake.mintRequests(sa.clientId).map((r) => r.status)).toEqual([200, 200]);
      const row = await integrationRow(t, owner.teamId);
      expect(row?.access_token).not.toBe(before);
      expect(row).toMatchObject({ refresh_token: null, status: 'connected', refresh_lease_owner: null, refresh_in_flight_version: null });
      // And the minted token is good for the next hour: no further mints.
      await t.app.get(JiraTokenManager).getAccessToken(owner.teamId);
      await second.app.get(JiraTokenManager).getAccessToken(owner.teamId);
      expect(fake.mintRequests(sa.clientId)).toHaveLength(2);
    } finally {
      clock.offsetMs = 0;
    }
  });

  it('a mint whose answer is lost leaves nothing to recover: the call fails, the row stays connected, the next call mints', async () => {
    const owner = await t.member('owner');
    const sa = await connectSa(owner);
    const tokens = t.app.get(JiraTokenManager);
    clock.offsetMs = HOUR - 30_000;
    try {
      fake.failNextTokenRequests({ status: 0, destroy: true, grant: 'client_credentials' }, { status: 0, destroy: true, grant: 'client_credentials' });
      await expect(tokens.getAccessToken(owner.teamId)).rejects.toMatchObject({ code: 'atlassian_unavailable' });
      expect(fake.mintRequests(sa.clientId).map((r) => r.status)).toEqual([200, -1, -1]);
      // Unlike a refresh, no "in flight" marker stays behind for the recovery sweep.
      expect(await integrationRow(t, owner.teamId)).toMatchObject({ status: 'connected', refresh_in_flight_version: null, refresh_lease_owner: null,
        last_error_code: 'atlassian_unavailable' });
      expect(await tokens.getAccessToken(owner.teamId)).toEqual(expect.any(String));
      expect(fake.mintRequests(sa.clientId).map((r) => r.status)).toEqual([200, -1, -1, 200]);
      expect((await integrationRow(t, owner.teamId))?.last_error_code).toBeNull();
    } finally {
      clock.offsetMs = 0;
    }
  });

  it('invalid_client makes the connection reauthorization_required with a notification, after at most two token requests', async () => {
    const owner = await t.member('owner');
    const sa = await connectSa(owner);
    fake.revokeServiceAccount(sa.clientId);
    clock.offsetMs = HOUR - 30_000;
    try {
      const first = await t.http.get(`${PROXY}/rest/api/3/myself`).set(owner.headers);
      expect(first.status).toBe(409);
      expect(first.body.code).toBe('jira_reauthorization_required');
      // Not retried in a loop: further calls and instances answer from the row.
      for (const via of [t, second, t]) {
        const again = await via.http.get(`${PROXY}/rest/api/3/myself`).set(owner.headers);
        expect(again.body.code).toBe('jira_reauthorization_required');
      }
      await expect(second.app.get(JiraTokenManager).getAccessToken(owner.teamId)).rejects.toMatchObject({ code: 'jira_reauthorization_required' });
    } finally {
      clock.offsetMs = 0;
    }
    expect(fake.mintRequests(sa.clientId).map((r) => r.status)).toEqual([200, 401]);
    const status = (await t.http.get(STATUS).set(owner.headers)).body.data;
    expect(status).toMatchObject({ status: 'reauthorization_required', connectionType: 'service_account', lastError: { code: 'jira_reauthorization_required' } });
    expect(await integrationRow(t, owner.teamId)).toMatchObject({ access_token: null, client_credential: null });
    expect(await outbox(owner.teamId, 'reauthorization_required')).toHaveLength(1);

    // A new credential connects the team again.
    await connectSa(owner);
    expect((await t.http.get(STATUS).set(owner.headers)).body.data.status).toBe('connected');
  });

  it('a 3LO connect replaces a service account; disconnect removes it', async () => {
    const owner = await t.member('owner');
    await connectSa(owner);
    expect((await connect(t, fake, owner)).res.status).toBe(200);
    expect(await integrationRow(t, owner.teamId)).toMatchObject({ connection_type: 'oauth', client_credential: null });
    expect((await t.http.get(STATUS).set(owner.headers)).body.data.connectionType).toBe('oauth');

    const sa = await connectSa(owner);
    const member = await t.member('member', owner.teamId);
    expect((await t.http.delete('/api/integrations/jira/oauth/disconnect').set(member.headers)).status).toBe(403);
    const gone = await t.http.delete('/api/integrations/jira/oauth/disconnect').set(owner.headers);
    expect(gone.status).toBe(200);
    expect(gone.body.data).toMatchObject({ status: 'not_connected', wasConnected: true });
    expect(gone.body.data.message).toMatch(/service account/);
    expect(await integrationRow(t, owner.teamId)).toBeUndefined();
    expect((await t.http.get(STATUS).set(owner.headers)).body.data).toMatchObject({ status: 'not_connected', connectionType: null });
    const after = await t.http.get(`${PROXY}/rest/api/3/myself`).set(owner.headers);
    expect(after.body.code).toBe('jira_not_connected');
    expect(fake.mintRequests(sa.clientId)).toHaveLength(1);
  });

  it('the secret is in no database dump, admin listing, response or log line', async () => {
    const owner = await t.member('owner');
    const sa = await connectSa(owner);
    expect((await connect(t, fake, await t.member('owner'))).res.status).toBe(200);
    const listing = await t.http.get('/api/admin/integrations').query({ limit: 200 }).set('authorization', `Bearer ${ADMIN_KEY}`);
    expect(listing.status).toBe(200);
    expect(listing.body.data.find((i: { teamId: string }) => i.teamId === owner.teamId)).toMatchObject({
      status: 'connected', connectionType: 'service_account', consentExpiresAt: null,
    });
    expect(listing.body.data.some((i: { connectionType: string }) => i.connectionType === 'oauth')).toBe(true);
    const secrets = [...handedOut, ...fake.issuedSecrets()];
    expect(secrets).toContain(sa.clientSecret);
    const dump = await dumpOAuthTables(t);
    expect(dump).toContain(owner.teamId);
    expect(secrets.filter((s) => dump.includes(s))).toEqual([]);
    expect(secrets.filter((s) => listing.text.includes(s))).toEqual([]);
    expect(listing.text).not.toMatch(/client_?credential|clientSecret/i);
    expect(t.logs.leaked(secrets)).toEqual([]);
    expect(second.logs.leaked(secrets)).toEqual([]);
  });
});
