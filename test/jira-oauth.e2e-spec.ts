import { beforeEach, describe, expect, it } from 'vitest';
import { FakeAtlassian } from '../src/integrations/jira/testing/fake-atlassian/fake-atlassian.js';
import { fileFixtures } from './helpers/fixtures.js';
import { consent, connect, dumpOAuthTables, integrationRow, sha256, startFlow } from './helpers/oauth-flow.js';

const RETURN_ORIGIN = 'https://app.example.test';
/** The file's fake Atlassian and its apps: file-scoped fixtures (test/helpers/fixtures.ts). */
const { useApp, useFake } = fileFixtures();

describe('Jira OAuth connect flow', () => {
  const fake = useFake();
  const env = {
    OAUTH_RETURN_ORIGINS: RETURN_ORIGIN,
    LOG_LEVEL: 'trace',
    JIRA_RATE_LIMIT_PER_USER: '1000',
    JIRA_RATE_LIMIT_CALLBACK_PER_IP: '1000',
  };
  const t = useApp({ env });
  const second = useApp({ env });
  /** Every state and binding cookie value handed out, for the leak check at the end. */
  const handedOut: string[] = [];
  beforeEach(() => {
    fake.account = FakeAtlassian.account('acme', 1);
    fake.denyWith = null;
  });

  const remember = <T extends { state: string; cookieValue: string }>(flow: T): T => {
    handedOut.push(flow.state, flow.cookieValue);
    return flow;
  };

  it('authorize returns a consent URL with the documented parameters and sets the binding cookie', async () => {
    const m = await t.member('owner');
    const before = Date.now();
    const flow = remember(await startFlow(t, m, { siteUrl: 'Acme' }));
    const after = Date.now();
    const url = new URL(flow.authorizationUrl);
    expect(url.origin + url.pathname).toBe(`${fake.url}/authorize`);
    const p = url.searchParams;
    expect(p.get('audience')).toBe('api.atlassian.com');
    expect(p.get('client_id')).toBe(fake.clientId);
    expect(p.get('scope')!.split(' ')).toContain('offline_access');
    expect(flow.authorizationUrl).toMatch(/scope=[^&]*%20/);
    expect(p.get('redirect_uri')).toBe(fake.redirectUri);
    expect(p.get('response_type')).toBe('code');
    expect(p.get('prompt')).toBe('consent');
    expect(flow.state).toMatch(/^[A-Za-z0-9_-]{43}$/); // 256 bits, base64url
    // Ten minutes from when the request was served: bounded by the request's start and end, not
    // by a slack that a loaded machine exceeds.
    const expiresAt = Date.parse(flow.expiresAt);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 10 * 60_000);
    expect(expiresAt).toBeLessThanOrEqual(after + 10 * 60_000);
    expect(flow.setCookie).toMatch(/; HttpOnly/i);
    expect(flow.setCookie).toMatch(/; SameSite=Lax/i);
    expect(flow.setCookie).toMatch(/; Path=\/api\/integrations\/jira\/oauth\/callback(;|$)/);
    expect(flow.setCookie).not.toMatch(/; Secure/i); // the fake's redirect URI is http
    // Only hashes are stored; the site hint is normalized.
    const rows = await t.dataSource.query('SELECT state_hash, binding_hash, site_hint, user_id FROM jira_oauth_states WHERE team_id = $1', [m.teamId]);
    expect(rows).toEqual([{ state_hash: sha256(flow.state), binding_hash: sha256(flow.cookieValue), site_hint: 'https://acme.atlassian.net', user_id: m.userId }]);
  });

  it('connects a one-site account end to end (JSON callback, unknown query parameters ignored)', async () => {
    const m = await t.member('admin');
    const flow = remember(await startFlow(t, m));
    const callback = await consent(fake, flow, { iss: 'https://auth.atlassian.com', extra: 'x' });
    const res = await t.http.get(callback).set('Cookie', flow.cookie);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const site = fake.account.sites[0];
    expect(res.body.data).toEqual({ status: 'connected', site: { cloudId: site.id, url: site.url, name: site.name } });
    expect(([] as string[]).concat(res.headers['set-cookie'] ?? []).join(';')).toMatch(/jc_jira_oauth_\w+=;/); // binding cookie cleared
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    const exchange = fake.tokenRequests.at(-1)!;
    expect(exchange).toMatchObject({ grant: 'authorization_code', status: 200 });
    expect(exchange.contentType).toMatch(/^application\/json/);

    const member = await t.member('member', m.teamId);
    const status = await t.http.get('/api/integrations/jira/oauth/status').set(member.headers);
    expect(status.status).toBe(200);
    expect(status.body.data).toMatchObject({
      status: 'connected',
      site: { cloudId: site.id, url: site.url, name: site.name },
      scopes: expect.arrayContaining(['offline_access', 'read:jira-work']),
      connectedBy: { userId: m.userId },
      lastRefreshedAt: null,
    });
    expect(Date.parse(status.body.data.accessTokenExpiresAt) - Date.now()).toBeGreaterThan(3500_000);
    expect(Date.parse(status.body.data.connectedAt)).toBeLessThanOrEqual(Date.now());
    expect(status.body.data.availableSites).toBeUndefined();
    const row = await integrationRow(t, m.teamId);
    expect(row).toMatchObject({ status: 'connected', cloud_id: site.id, connected_by_user_id: m.userId, token_version: 1 });
    expect(String(row!.access_token)).toMatch(/^v2:/);
    expect(String(row!.refresh_token)).toMatch(/^v2:/);
    const metrics = await t.http.get('/metrics');
    expect(metrics.text).toMatch(/jira_oauth_flows_total\{outcome="connected"\} [1-9]/);
  });

  it('with several sites and no siteUrl waits for a site choice instead of taking the first', async () => {
    fake.account = FakeAtlassian.account('multi', 2);
    const m = await t.member('owner');
    const { res } = await connect(t, fake, m);
    expect(res.status).toBe(200);
    expect(res.body.data.status).toBe('pending_site_selection');
    expect(res.body.data.site).toBeNull();
    expect(res.body.data.availableSites.map((s: { cloudId: string }) => s.cloudId)).toEqual(fake.account.sites.map((s) => s.id));
    const status = await t.http.get('/api/integrations/jira/oauth/status').set(m.headers);
    expect(status.body.data).toMatchObject({ status: 'pending_site_selection', site: null });
    expect(status.body.data.availableSites).toHaveLength(2);

    const member = await t.member('member', m.teamId);
    const target = fake.account.sites[1];
    expect((await t.http.put('/api/integrations/jira/site').set(member.headers).send({ cloudId: target.id })).body.code).toBe('insufficient_role');
    const wrong = await t.http.put('/api/integrations/jira/site').set(m.headers).send({ cloudId: 'cloud-not-granted' });
    expect(wrong.status).toBe(422);
    expect(wrong.body.code).toBe('jira_site_not_accessible');
    const chosen = await t.http.put('/api/integrations/jira/site').set(m.headers).send({ cloudId: target.id });
    expect(chosen.status).toBe(200);
    expect(chosen.body.data).toMatchObject({ status: 'connected', site: { cloudId: target.id, url: target.url } });
    const again = await t.http.put('/api/integrations/jira/site').set(m.headers).send({ cloudId: target.id });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('jira_no_pending_site_selection');
  });

  it('binds the site matching siteUrl among several', async () => {
    fake.account = FakeAtlassian.account('pick', 2);
    const m = await t.member('owner');
    const { res } = await connect(t, fake, m, { siteUrl: 'https://PICK-2.atlassian.net/jira/projects' });
    expect(res.body.data).toMatchObject({ status: 'connected', site: { cloudId: fake.account.sites[1].id } });
  });

  it('site selection without an integration answers 409 jira_not_connected', async () => {
    const m = await t.member('owner');
    const res = await t.http.put('/api/integrations/jira/site').set(m.headers).send({ cloudId: 'x' });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('jira_not_connected');
  });

  it('redirects to returnTo with the outcome, keeping its own query', async () => {
    const m = await t.member('owner');
    const returnTo = `${RETURN_ORIGIN}/settings/integrations?tab=jira`;
    const { res } = await connect(t, fake, m, { returnTo });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.location);
    expect(location.origin + location.pathname).toBe(`${RETURN_ORIGIN}/settings/integrations`);
    expect(Object.fromEntries(location.searchParams)).toEqual({ tab: 'jira', jira: 'connected' });
  });

  it('refuses a callback whose initiator lost the admin role meanwhile, without exchanging the code', async () => {
    const m = await t.member('admin');
    const flow = remember(await startFlow(t, m));
    const callback = await consent(fake, flow);
    await t.dataSource.query(`UPDATE team_members SET role = 'member' WHERE team_id = $1 AND user_id = $2`, [m.teamId, m.userId]);
    const exchangesBefore = fake.tokenRequests.filter((r) => r.grant === 'authorization_code').length;
    const res = await t.http.get(callback).set('Cookie', flow.cookie);
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('oauth_authorization_failed');
    expect(fake.tokenRequests.filter((r) => r.grant === 'authorization_code').length).toBe(exchangesBefore);
    expect(await integrationRow(t, m.teamId)).toBeUndefined();
  });

  it('reports access_denied from Atlassian as such (JSON and redirect) and stores nothing', async () => {
    fake.denyWith = 'access_denied';
    const m = await t.member('owner');
    const { res } = await connect(t, fake, m);
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('oauth_access_denied');
    const redirected = await connect(t, fake, m, { returnTo: `${RETURN_ORIGIN}/done` });
    expect(redirected.res.status).toBe(302);
    expect(redirected.res.headers.location).toBe(`${RETURN_ORIGIN}/done?jira=error&code=oauth_access_denied`);
    expect(await integrationRow(t, m.teamId)).toBeUndefined();
  });

  it('refuses returnTo outside OAUTH_RETURN_ORIGINS (no open redirect) and bad site URLs', async () => {
    const m = await t.member('owner');
    for (const returnTo of ['https://evil.test/x', `${RETURN_ORIGIN}.evil.test/x`, '//evil.test', 'javascript:alert(1)',
      `https://user:pw@${new URL(RETURN_ORIGIN).host}/x`, 'http://app.example.test/x', '/relative']) {
      const res = await t.http.post('/api/integrations/jira/oauth/authorize').set(m.headers).send({ returnTo });
      expect(res.status, returnTo).toBe(400);
      expect(res.body.code, returnTo).toBe('return_to_not_allowed');
    }
    const bad = await t.http.post('/api/integrations/jira/oauth/authorize').set(m.headers).send({ siteUrl: 'https://evil.com' });
    expect(bad.body.code).toBe('invalid_site_url');
    const unknown = await t.http.post('/api/integrations/jira/oauth/authorize').set(m.headers).send({ siteUrl: 'acme', scope: 'admin' });
    expect(unknown.body.code).toBe('validation_failed');
    expect(await t.dataSource.query('SELECT 1 FROM jira_oauth_states WHERE team_id = $1', [m.teamId])).toHaveLength(0);
  });

  it('authorize needs a bearer token and the owner or admin role', async () => {
    const m = await t.member('member');
    expect((await t.http.post('/api/integrations/jira/oauth/authorize').send({})).status).toBe(401);
    const res = await t.http.post('/api/integrations/jira/oauth/authorize').set(m.headers).send({});
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('insufficient_role');
  });

  describe('rejected callbacks change nothing', () => {
    const noRow = async (teamId: string) => expect(await integrationRow(t, teamId)).toBeUndefined();

    it('missing and unknown state', async () => {
      const missing = await t.http.get('/api/integrations/jira/oauth/callback?code=abc');
      expect(missing.status).toBe(400);
      expect(missing.body.code).toBe('oauth_state_missing');
      const unknown = await t.http.get('/api/integrations/jira/oauth/callback?code=abc&state=not-ours');
      expect(unknown.status).toBe(400);
      expect(unknown.body.code).toBe('oauth_state_invalid');
      expect(unknown.headers['content-type']).toMatch(/^application\/problem\+json/);
    });

    it('a cookie-less callback fails with oauth_binding_missing and does not burn the state', async () => {
      const m = await t.member('owner');
      const flow = remember(await startFlow(t, m));
      const callback = await consent(fake, flow);
      const res = await t.http.get(callback);
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('oauth_binding_missing');
      await noRow(m.teamId);
      const [state] = await t.dataSource.query('SELECT consumed_at FROM jira_oauth_states WHERE state_hash = $1', [sha256(flow.state)]);
      expect(state.consumed_at).toBeNull();
      // The rightful browser can still finish.
      expect((await t.http.get(callback).set('Cookie', flow.cookie)).status).toBe(200);
    });

    it('a callback from another browser fails with oauth_binding_mismatch', async () => {
      const victim = await t.member('owner');
      const attacker = await t.member('owner');
      const victimFlow = remember(await startFlow(t, victim));
      const attackerFlow = remember(await startFlow(t, attacker));
      const callback = await consent(fake, victimFlow);
      const cookieName = victimFlow.cookie.split('=')[0];
      const res = await t.http.get(callback).set('Cookie', `${cookieName}=${attackerFlow.cookieValue}`);
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('oauth_binding_mismatch');
      await noRow(victim.teamId);
      await noRow(attacker.teamId);
      expect((await t.http.get(callback).set('Cookie', victimFlow.cookie)).status).toBe(200);
    });

    it('a replayed callback fails with oauth_state_replayed and leaves the integration as it was', async () => {
      const m = await t.member('owner');
      const { flow, callback, res } = await connect(t, fake, m);
      remember(flow);
      expect(res.status).toBe(200);
      const before = await integrationRow(t, m.teamId);
      const replay = await t.http.get(callback).set('Cookie', flow.cookie);
      expect(replay.status).toBe(400);
      expect(replay.body.code).toBe('oauth_state_replayed');
      expect(await integrationRow(t, m.teamId)).toEqual(before);
    });

    it('an expired state fails with oauth_state_expired', async () => {
      const m = await t.member('owner');
      const flow = remember(await startFlow(t, m));
      const callback = await consent(fake, flow);
      await t.dataSource.query(`UPDATE jira_oauth_states SET expires_at = now() - interval '1 second' WHERE state_hash = $1`, [sha256(flow.state)]);
      const res = await t.http.get(callback).set('Cookie', flow.cookie);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('oauth_state_expired');
      await noRow(m.teamId);
      const tokenRequests = fake.tokenRequests.length;
      await t.http.get(callback).set('Cookie', flow.cookie);
      expect(fake.tokenRequests.length).toBe(tokenRequests); // the code was never exchanged
    });

    it('two concurrent callbacks with one state: exactly one wins', async () => {
      const m = await t.member('owner');
      const flow = remember(await startFlow(t, m));
      const callback = await consent(fake, flow);
      const results = await Promise.all([0, 1].map(() => second.http.get(callback).set('Cookie', flow.cookie)));
      expect(results.map((r) => r.status).sort()).toEqual([200, 400]);
      expect(results.find((r) => r.status === 400)!.body.code).toBe('oauth_state_replayed');
    });

    it('a rejected code exchange is reported and stores nothing', async () => {
      const m = await t.member('owner');
      fake.failNextTokenRequests({ status: 403, body: { error: 'invalid_grant' }, grant: 'authorization_code' });
      const rejected = await connect(t, fake, m);
      expect(rejected.res.status).toBe(400);
      expect(rejected.res.body.code).toBe('oauth_code_exchange_failed');
      fake.failNextTokenRequests({ status: 503, grant: 'authorization_code' });
      const down = await connect(t, fake, m, { returnTo: `${RETURN_ORIGIN}/x` });
      expect(down.res.status).toBe(302);
      expect(down.res.headers.location).toBe(`${RETURN_ORIGIN}/x?jira=error&code=atlassian_unavailable`);
      await noRow(m.teamId);
    });
  });

  it('a state created on one instance is accepted on a second instance sharing the database', async () => {
    const m = await t.member('owner');
    const { flow, callback, res } = await connect(t, fake, m, {}, second);
    remember(flow);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.data.status).toBe('connected');
    const status = await t.http.get('/api/integrations/jira/oauth/status').set(m.headers);
    expect(status.body.data.status).toBe('connected');
    expect((await t.http.get(callback).set('Cookie', flow.cookie)).body.code).toBe('oauth_state_replayed');
  });

  it('reconnecting replaces the tokens of the same row', async () => {
    const m = await t.member('owner');
    await connect(t, fake, m);
    const first = await integrationRow(t, m.teamId);
    fake.account = FakeAtlassian.account('other', 1);
    const { res } = await connect(t, fake, m);
    expect(res.body.data.site.cloudId).toBe(fake.account.sites[0].id);
    const row = await integrationRow(t, m.teamId);
    expect(row).toMatchObject({ id: first!.id, token_version: 2, cloud_id: fake.account.sites[0].id });
    expect(row!.access_token).not.toBe(first!.access_token);
    // The reconnect's UPDATE is sealed by the token subscriber like the first INSERT.
    expect(String(row!.access_token)).toMatch(/^v2:/);
    expect(String(row!.refresh_token)).toMatch(/^v2:/);
    expect(fake.issuedSecrets().filter((secret) => JSON.stringify(row).includes(secret))).toEqual([]);
  });

  it('disconnect wipes tokens and states, is idempotent and says where to remove the app', async () => {
    const m = await t.member('owner');
    const other = await t.member('owner');
    await connect(t, fake, m);
    await connect(t, fake, other);
    const pending = remember(await startFlow(t, m));
    const pendingCallback = await consent(fake, pending);
    const member = await t.member('member', m.teamId);
    expect((await t.http.delete('/api/integrations/jira/oauth/disconnect').set(member.headers)).status).toBe(403);

    const res = await t.http.delete('/api/integrations/jira/oauth/disconnect').set(m.headers);
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({
      status: 'not_connected',
      wasConnected: true,
      removeAppAt: { user: 'https://id.atlassian.com/manage-profile/apps', admin: expect.stringContaining('admin.atlassian.com') },
    });
    expect(res.body.data.message).toMatch(/Connected apps/);
    expect(await integrationRow(t, m.teamId)).toBeUndefined();
    expect(await t.dataSource.query('SELECT 1 FROM jira_oauth_states WHERE team_id = $1', [m.teamId])).toHaveLength(0);
    expect((await t.http.get(pendingCallback).set('Cookie', pending.cookie)).body.code).toBe('oauth_state_invalid');

    const again = await t.http.delete('/api/integrations/jira/oauth/disconnect').set(m.headers);
    expect(again.status).toBe(200);
    expect(again.body.data).toMatchObject({ status: 'not_connected', wasConnected: false });
    const status = await t.http.get('/api/integrations/jira/oauth/status').set(m.headers);
    expect(status.body.data).toMatchObject({ status: 'not_connected', site: null, connectedBy: null });
    // Another team's integration is untouched.
    expect((await t.http.get('/api/integrations/jira/oauth/status').set(other.headers)).body.data.status).toBe('connected');
  });

  it('status is per team: a member of another team cannot read it', async () => {
    const m = await t.member('owner');
    await connect(t, fake, m);
    const outsider = await t.member('owner');
    const res = await t.http.get('/api/integrations/jira/oauth/status').set({ ...outsider.headers, 'x-team-id': m.teamId });
    expect(res.status).toBe(403);
    expect((await t.http.get('/api/integrations/jira/oauth/status').set(outsider.headers)).body.data.status).toBe('not_connected');
  });

  it('status?verify=true asks Jira /rest/api/3/myself and reports a dead grant', async () => {
    const m = await t.member('owner');
    const none = await t.http.get('/api/integrations/jira/oauth/status?verify=true').set(m.headers);
    expect(none.body.data).toMatchObject({ status: 'not_connected', verification: { ok: false, code: 'jira_not_connected' } });
    expect((await t.http.get('/api/integrations/jira/oauth/status?verify=maybe').set(m.headers)).status).toBe(400);

    fake.account = FakeAtlassian.account('verify', 1);
    await connect(t, fake, m);
    const calls = fake.apiRequests.length;
    const ok = await t.http.get('/api/integrations/jira/oauth/status?verify=true').set(m.headers);
    expect(ok.status).toBe(200);
    expect(ok.body.data).toMatchObject({ status: 'connected', verification: { ok: true, accountId: fake.account.accountId } });
    expect(fake.apiRequests.slice(calls)).toEqual([{ path: '/rest/api/3/myself', status: 200 }]);
    const plain = await t.http.get('/api/integrations/jira/oauth/status').set(m.headers);
    expect(plain.body.data.verification).toBeUndefined();
    expect(fake.apiRequests.length).toBe(calls + 1);

    fake.revokeAllGrants();
    const dead = await t.http.get('/api/integrations/jira/oauth/status?verify=true').set(m.headers);
    expect(dead.status).toBe(200);
    expect(dead.body.data).toMatchObject({ status: 'reauthorization_required', verification: { ok: false, code: 'jira_reauthorization_required' } });
  });

  it('after all flows, no token, code, state or binding cookie is in the database or the logs', async () => {
    const secrets = [...fake.issuedSecrets(), ...handedOut];
    expect(secrets.length).toBeGreaterThan(20);
    expect(fake.issuedSecrets().some((s) => s.startsWith('rt-'))).toBe(true);
    const dump = (await dumpOAuthTables(t)) + (await dumpOAuthTables(second));
    expect(dump.length).toBeGreaterThan(0);
    expect(secrets.filter((s) => dump.includes(s))).toEqual([]);
    // Logging was on (trace) and did record the flow.
    expect(t.logs.text).toMatch(/jira authorization completed/);
    expect(t.logs.text).toMatch(/oauth\/callback/);
    expect(t.logs.leaked(secrets)).toEqual([]);
    expect(second.logs.leaked(secrets)).toEqual([]);
  });
});
