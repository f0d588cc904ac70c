import { EventEmitter2 } from '@nestjs/event-emitter';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { JiraClient } from '../src/integrations/jira/client/jira-client.js';
import {
  JIRA_REAUTHORIZATION_REQUIRED, JiraTokenManager, type JiraReauthorizationRequiredEvent,
} from '../src/integrations/jira/tokens/jira-token-manager.service.js';
import { fileFixtures } from './helpers/fixtures.js';
import { chainIntact, seedIntegration, storedIntegration } from './helpers/jira-seed.js';

/** The file's fake Atlassian and its app: file-scoped fixtures (test/helpers/fixtures.ts). */
const { useApp, useFake } = fileFixtures();

describe('JiraTokenManager and JiraClient', () => {
  const fake = useFake();
  const t = useApp({
    env: {
      LOG_LEVEL: 'debug',
      JIRA_REFRESH_BACKOFF_MS: '20',
      JIRA_REFRESH_MAX_ATTEMPTS: '3',
      JIRA_RETRY_BUDGET_MS: '5000',
      JIRA_REFRESH_LOCK_TIMEOUT_MS: '1500',
    },
  });
  let tokens: JiraTokenManager;
  const events: JiraReauthorizationRequiredEvent[] = [];

  beforeAll(() => {
    tokens = t.app.get(JiraTokenManager);
    t.app.get(EventEmitter2).on(JIRA_REAUTHORIZATION_REQUIRED, (e: JiraReauthorizationRequiredEvent) => events.push(e));
  });
  beforeEach(() => {
    events.length = 0;
  });

  /** Token requests that presented one of this grant's refresh tokens (i.e. this test's). */
  const requestsSince = (mark: number) => fake.tokenRequests.slice(mark);

  it('returns the stored token while it has more than 60 s left, without calling Atlassian', async () => {
    const s = await seedIntegration(t.dataSource, fake, { expiresInMs: 5 * 60_000 });
    const mark = fake.tokenRequests.length;
    expect(await tokens.getAccessToken(s.teamId)).toBe(s.accessToken);
    expect(requestsSince(mark)).toHaveLength(0);
  });

  it('refreshes a token with 60 s or less left, storing access token, rotated refresh token and expiry together', async () => {
    const s = await seedIntegration(t.dataSource, fake, { expiresInMs: 59_000 });
    const before = await storedIntegration(t.dataSource, s.teamId);
    const mark = fake.tokenRequests.length;
    const token = await tokens.getAccessToken(s.teamId);
    expect(token).not.toBe(s.accessToken);
    expect(requestsSince(mark)).toEqual([expect.objectContaining({ grant: 'refresh_token', status: 200, refreshToken: s.refreshToken })]);
    const after = await storedIntegration(t.dataSource, s.teamId);
    expect(after.accessToken).toBe(token);
    expect(after.refreshToken).not.toBe(s.refreshToken);
    expect(after.tokenVersion).toBe(before.tokenVersion + 1);
    expect(after.accessTokenExpiresAt!.getTime()).toBeGreaterThan(Date.now() + 3500_000);
    expect(after.lastRefreshedAt!.getTime()).toBeGreaterThan(Date.now() - 10_000);
    expect(await chainIntact(t.dataSource, fake, s.teamId)).toBe(true);
    const [raw] = await t.dataSource.query('SELECT access_token, refresh_token FROM jira_integrations WHERE team_id = $1', [s.teamId]);
    expect(JSON.stringify(raw)).not.toContain(token);
    expect(JSON.stringify(raw)).not.toContain(after.refreshToken);
    // And the next call is served from the row.
    expect(await tokens.getAccessToken(s.teamId)).toBe(token);
    expect(requestsSince(mark)).toHaveLength(1);
  });

  it('200 concurrent callers in one process share a single refresh', async () => {
    const s = await seedIntegration(t.dataSource, fake);
    fake.tokenLatencyMs = 100;
    const mark = fake.tokenRequests.length;
    try {
      const got = await Promise.all(Array.from({ length: 200 }, () => tokens.getAccessToken(s.teamId)));
      expect(new Set(got).size).toBe(1);
      expect(requestsSince(mark)).toHaveLength(1);
      expect((await storedIntegration(t.dataSource, s.teamId)).accessToken).toBe(got[0]);
      expect(await chainIntact(t.dataSource, fake, s.teamId)).toBe(true);
    } finally {
      fake.tokenLatencyMs = 0;
    }
  });

  it('retries 503 twice then succeeds', async () => {
    const s = await seedIntegration(t.dataSource, fake);
    const mark = fake.tokenRequests.length;
    fake.failNextTokenRequests({ status: 503 }, { status: 503 });
    const token = await tokens.getAccessToken(s.teamId);
    expect(requestsSince(mark).map((r) => r.status)).toEqual([503, 503, 200]);
    expect((await storedIntegration(t.dataSource, s.teamId)).accessToken).toBe(token);
    expect(await chainIntact(t.dataSource, fake, s.teamId)).toBe(true);
  });

  it('retries after a dropped connection', async () => {
    const s = await seedIntegration(t.dataSource, fake);
    fake.failNextTokenRequests({ status: 0, destroy: true });
    await expect(tokens.getAccessToken(s.teamId)).resolves.toEqual(expect.any(String));
    expect(await chainIntact(t.dataSource, fake, s.teamId)).toBe(true);
  });

  it('permanent 503: a 503 problem after the retries, stored tokens untouched and usable later', async () => {
    const s = await seedIntegration(t.dataSource, fake);
    const before = await storedIntegration(t.dataSource, s.teamId);
    const mark = fake.tokenRequests.length;
    fake.failNextTokenRequests({ status: 503 }, { status: 503 }, { status: 503 });
    await expect(tokens.getAccessToken(s.teamId)).rejects.toMatchObject({ code: 'atlassian_unavailable', status: 503, retryAfter: expect.any(Number) });
    expect(requestsSince(mark)).toHaveLength(3);
    const after = await storedIntegration(t.dataSource, s.teamId);
    expect(after).toMatchObject({ status: 'connected', accessToken: s.accessToken, refreshToken: s.refreshToken, tokenVersion: before.tokenVersion, lastErrorCode: 'atlassian_unavailable' });
    // Atlassian is back: the same stored refresh token still works.
    const token = await tokens.getAccessToken(s.teamId);
    expect(token).not.toBe(s.accessToken);
    expect(await storedIntegration(t.dataSource, s.teamId)).toMatchObject({ accessToken: token, lastErrorCode: null });
    expect(await chainIntact(t.dataSource, fake, s.teamId)).toBe(true);
  });

  it('honors Retry-After on 429 before retrying', async () => {
    const s = await seedIntegration(t.dataSource, fake);
    fake.failNextTokenRequests({ status: 429, retryAfter: '1', body: { error: 'too_many_requests' } });
    const started = Date.now();
    await tokens.getAccessToken(s.teamId);
    expect(Date.now() - started).toBeGreaterThanOrEqual(990);
    expect(await chainIntact(t.dataSource, fake, s.teamId)).toBe(true);
  });

  it('gives up at once when Retry-After exceeds the retry budget, passing it on', async () => {
    const s = await seedIntegration(t.dataSource, fake);
    const mark = fake.tokenRequests.length;
    fake.failNextTokenRequests({ status: 429, retryAfter: '60' });
    const started = Date.now();
    await expect(tokens.getAccessToken(s.teamId)).rejects.toMatchObject({ code: 'atlassian_rate_limited', status: 503, retryAfter: 60 });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(requestsSince(mark)).toHaveLength(1);
    expect((await storedIntegration(t.dataSource, s.teamId)).refreshToken).toBe(s.refreshToken);
  });

  it('client credentials rejected: 502, connection and tokens kept', async () => {
    const s = await seedIntegration(t.dataSource, fake);
    fake.failNextTokenRequests({ status: 401, body: { error: 'access_denied' } });
    await expect(tokens.getAccessToken(s.teamId)).rejects.toMatchObject({ code: 'atlassian_client_rejected', status: 502 });
    expect(await storedIntegration(t.dataSource, s.teamId)).toMatchObject({ status: 'connected', refreshToken: s.refreshToken, accessToken: s.accessToken });
  });

  it('invalid_grant: reauthorization_required, tokens wiped, the event emitted exactly once', async () => {
    const s = await seedIntegration(t.dataSource, fake);
    fake.revokeAllGrants();
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => tokens.getAccessToken(s.teamId)));
    for (const r of results) expect(r).toMatchObject({ status: 'rejected', reason: { code: 'jira_reauthorization_required', status: 409 } });
    const row = await storedIntegration(t.dataSource, s.teamId);
    expect(row).toMatchObject({ status: 'reauthorization_required', accessToken: null, refreshToken: null, accessTokenExpiresAt: null, lastErrorCode: 'jira_reauthorization_required' });
    const mark = fake.tokenRequests.length;
    await expect(tokens.getAccessToken(s.teamId)).rejects.toMatchObject({ code: 'jira_reauthorization_required' });
    expect(requestsSince(mark)).toHaveLength(0);
    expect(events).toEqual([{ teamId: s.teamId, integrationId: s.integrationId }]);
  });

  it('recovers when Atlassian rotated the token but the new one was never stored (lost write)', async () => {
    const s = await seedIntegration(t.dataSource, fake);
    // The refresh reached Atlassian, then the process died before its commit.
    const lost = await fetch(`${fake.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'refresh_token', client_id: fake.clientId, client_secret: fake.clientSecret, refresh_token: s.refreshToken }),
    });
    expect(lost.status).toBe(200);
    expect(fake.currentRefreshTokenOf(s.refreshToken)).not.toBe(s.refreshToken);
    // Within the reuse window the stored (rotated-away) token still refreshes, and the chain continues.
    const token = await tokens.getAccessToken(s.teamId);
    expect(token).not.toBe(s.accessToken);
    expect(await chainIntact(t.dataSource, fake, s.teamId)).toBe(true);
  });

  it('refuses teams without a usable connection', async () => {
    const m = await t.member('owner');
    await expect(tokens.getAccessToken(m.teamId)).rejects.toMatchObject({ code: 'jira_not_connected', status: 409 });
    await t.dataSource.query(`INSERT INTO jira_integrations (team_id, status) VALUES ($1, 'pending_site_selection')`, [m.teamId]);
    await expect(tokens.getAccessToken(m.teamId)).rejects.toMatchObject({ code: 'jira_not_connected' });
  });

  it('waiting for another process\'s lease is bounded: 503 jira_refresh_lock_timeout, then the lapsed lease is taken over', async () => {
    const s = await seedIntegration(t.dataSource, fake);
    await t.dataSource.query(`UPDATE jira_integrations SET refresh_lease_owner = 'other-process', refresh_lease_expires_at = now() + interval '3 seconds',
      refresh_in_flight_version = token_version, refresh_in_flight_since = now() WHERE team_id = $1`, [s.teamId]);
    const mark = fake.tokenRequests.length;
    const started = Date.now();
    await expect(tokens.getAccessToken(s.teamId)).rejects.toMatchObject({ code: 'jira_refresh_lock_timeout', status: 503, retryAfter: 1 });
    expect(Date.now() - started).toBeLessThan(2500);
    expect(requestsSince(mark)).toHaveLength(0);
    // The other process's lease lapses (moved into the past rather than waited out).
    await t.dataSource.query(`UPDATE jira_integrations SET refresh_lease_expires_at = now() - interval '1 second' WHERE team_id = $1`, [s.teamId]);
    await expect(tokens.getAccessToken(s.teamId)).resolves.toEqual(expect.any(String));
    expect(await storedIntegration(t.dataSource, s.teamId)).toMatchObject({ refreshLeaseOwner: null, refreshInFlightVersion: null });
    expect(await chainIntact(t.dataSource, fake, s.teamId)).toBe(true);
  });

  it('clamps a wild expires_in (1e13) instead of storing an Invalid Date', async () => {
    const s = await seedIntegration(t.dataSource, fake);
    fake.expiresInSeconds = 1e13;
    try {
      await tokens.getAccessToken(s.teamId);
    } finally {
      fake.expiresInSeconds = 3600;
    }
    const expiry = (await storedIntegration(t.dataSource, s.teamId)).accessTokenExpiresAt!.getTime();
    expect(expiry).toBeLessThanOrEqual(Date.now() + 24 * 3600_000);
    expect(expiry).toBeGreaterThan(Date.now() + 3600_000);
  });

  describe('JiraClient.forTeam', () => {
    it('calls the Jira gateway for the team\'s site with a fresh token', async () => {
      const s = await seedIntegration(t.dataSource, fake);
      const me = await t.app.get(JiraClient).forTeam(s.teamId).myself();
      expect(me.accountId).toBe(fake.account.accountId);
      expect(fake.apiRequests.at(-1)).toEqual({ path: '/rest/api/3/myself', status: 200 });
    });

    it('on a 401 refreshes once and retries', async () => {
      const s = await seedIntegration(t.dataSource, fake, { expiresInMs: 30 * 60_000 });
      fake.expireAccessToken(s.accessToken); // revoked at Atlassian before its stored expiry
      const mark = fake.tokenRequests.length;
      const me = await t.app.get(JiraClient).forTeam(s.teamId).myself();
      expect(me.accountId).toBe(fake.account.accountId);
      expect(requestsSince(mark)).toHaveLength(1);
      expect(fake.apiRequests.slice(-2).map((r) => r.status)).toEqual([401, 200]);
      expect(await chainIntact(t.dataSource, fake, s.teamId)).toBe(true);
    });

    it('a 401 that persists with the fresh token is a scope problem, not another rotation', async () => {
      const s = await seedIntegration(t.dataSource, fake, { expiresInMs: 30 * 60_000 });
      fake.failNextApiRequests({ status: 401 }, { status: 401 });
      const mark = fake.tokenRequests.length;
      await expect(t.app.get(JiraClient).forTeam(s.teamId).myself()).rejects.toMatchObject({ code: 'jira_scope_insufficient', status: 502 });
      expect(requestsSince(mark)).toHaveLength(1);
    });

    it('many concurrent 401s on one access token force a single refresh', async () => {
      const s = await seedIntegration(t.dataSource, fake, { expiresInMs: 30 * 60_000 });
      fake.expireAccessToken(s.accessToken);
      const mark = fake.tokenRequests.length;
      const client = t.app.get(JiraClient).forTeam(s.teamId);
      const results = await Promise.all(Array.from({ length: 10 }, () => client.myself()));
      expect(results.every((r) => r.accountId === fake.account.accountId)).toBe(true);
      expect(requestsSince(mark)).toHaveLength(1);
      expect(await chainIntact(t.dataSource, fake, s.teamId)).toBe(true);
    });

    it.each([403, 404])('a %i while the stored expiry says the token may have expired: refresh once, retry the same site', async (status) => {
      const s = await seedIntegration(t.dataSource, fake, { expiresInMs: 90_000 });
      fake.failNextApiRequests({ status });
      const mark = fake.tokenRequests.length;
      const apiMark = fake.apiRequests.length;
      await expect(t.app.get(JiraClient).forTeam(s.teamId).myself()).resolves.toMatchObject({ accountId: fake.account.accountId });
      expect(requestsSince(mark)).toHaveLength(1);
      expect(fake.apiRequests.slice(apiMark).map((r) => r.status)).toEqual([status, 200]);
    });

    it.each([403, 404])('a %i with a token far from expiry is a real answer: no refresh', async (status) => {
      const s = await seedIntegration(t.dataSource, fake, { expiresInMs: 30 * 60_000 });
      fake.failNextApiRequests({ status });
      const mark = fake.tokenRequests.length;
      await expect(t.app.get(JiraClient).forTeam(s.teamId).myself()).rejects.toMatchObject({ code: 'jira_request_failed', extensions: { jiraStatus: status } });
      expect(requestsSince(mark)).toHaveLength(0);
    });

    it('honors Retry-After on 429', async () => {
      const s = await seedIntegration(t.dataSource, fake, { expiresInMs: 30 * 60_000 });
      fake.failNextApiRequests({ status: 429, retryAfter: '1' });
      const started = Date.now();
      await expect(t.app.get(JiraClient).forTeam(s.teamId).myself()).resolves.toMatchObject({ accountId: fake.account.accountId });
      expect(Date.now() - started).toBeGreaterThanOrEqual(990);
      fake.failNextApiRequests({ status: 429, retryAfter: '120' });
      await expect(t.app.get(JiraClient).forTeam(s.teamId).myself()).rejects.toMatchObject({ code: 'atlassian_rate_limited', retryAfter: 120 });
    });
  });

  it('GET /metrics is public Prometheus text with refresh outcomes and token-endpoint latency', async () => {
    const res = await t.http.get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.text).toMatch(/jira_token_refresh_total\{outcome="success"\} [1-9]/);
    expect(res.text).toMatch(/jira_token_refresh_total\{outcome="invalid_grant"\} 1/);
    expect(res.text).toMatch(/jira_token_refresh_total\{outcome="transient_failure"\} [1-9]/);
    expect(res.text).toMatch(/jira_token_endpoint_duration_seconds_count\{grant_type="refresh_token",result="ok"\} [1-9]/);
    expect(res.text).toContain('# TYPE jira_oauth_flows_total counter');
    expect(fake.issuedSecrets().filter((secret) => res.text.includes(secret))).toEqual([]);
  });

  it('never logs a token or the client secret', () => {
    expect(t.logs.lines.length).toBeGreaterThan(0);
    expect(t.logs.leaked(fake.issuedSecrets())).toEqual([]);
  });
});
