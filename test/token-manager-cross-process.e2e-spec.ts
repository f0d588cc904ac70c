import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JiraTokenManager } from '../src/integrations/jira/tokens/jira-token-manager.service.js';
import { FakeAtlassian } from '../src/integrations/jira/testing/fake-atlassian/fake-atlassian.js';
import { chainIntact, seedIntegration, storedIntegration } from './helpers/jira-seed.js';
import { createTestApp, type TestApp } from './helpers/test-app.js';
import { usingPostgres } from './helpers/test-db.js';
import { startTokenWorker, type TokenWorker } from './helpers/token-workers.js';

/*
 * Separate OS processes sharing one PostgreSQL database and one (strict) Atlassian: the row's
 * refresh lease is the only thing they share, so this is where "once per expiry across all
 * processes" and "a crashed refresh is finished by another instance" are proven.
 * PGlite is a single in-process database, hence PostgreSQL only.
 */
/** The fake's reuse leeway in the crash test (Atlassian: 10 minutes). */
const LEEWAY_MS = 12_000;

describe.skipIf(!usingPostgres())('token refresh across processes (PostgreSQL)', () => {
  let fake: FakeAtlassian;
  let t: TestApp;
  const workers: TokenWorker[] = [];

  beforeAll(async () => {
    fake = await new FakeAtlassian().start();
    t = await createTestApp({ env: { ...fake.env(), JIRA_REFRESH_RECOVERY_SECONDS: '1' } });
  });
  afterAll(async () => {
    for (const w of workers) w.kill();
    await t?.close();
    await fake?.stop();
  });

  const spawn = async (teamId: string, calls: number, env: Record<string, string> = {}) => {
    const w = await startTokenWorker({ ...fake.env(), ...env, WORKER_TEAM_ID: teamId, WORKER_CALLS: String(calls) });
    workers.push(w);
    return w;
  };

  it('200 concurrent calls over 2 processes: exactly one refresh, one token for everyone, chain intact', async () => {
    const s = await seedIntegration(t.dataSource, fake);
    const [a, b] = await Promise.all([spawn(s.teamId, 100), spawn(s.teamId, 100)]);
    const before = fake.refreshCount;
    fake.tokenLatencyMs = 300; // both processes are surely waiting while the refresh is in flight
    try {
      const results = (await Promise.all([a.go(), b.go()])).flat();
      expect(results).toHaveLength(200);
      const tokens = new Set(results.map((r) => ('token' in r ? r.token : `failed: ${r.error}`)));
      expect([...tokens]).toHaveLength(1);
      const [token] = tokens;
      expect(token).not.toBe(s.accessToken);
      expect(fake.refreshCount - before).toBe(1);
      expect(fake.tokenRequests.filter((r) => r.refreshToken === s.refreshToken)).toHaveLength(1);
      expect((await storedIntegration(t.dataSource, s.teamId)).accessToken).toBe(token);
      expect(await chainIntact(t.dataSource, fake, s.teamId)).toBe(true);
    } finally {
      fake.tokenLatencyMs = 0;
    }
  }, 120_000);

  it('SIGKILL of the refreshing process after Atlassian rotated, no traffic afterwards: another instance finishes it inside the leeway', async () => {
    const s = await seedIntegration(t.dataSource, fake);
    // The worker's lease lasts its HTTP timeout + 2 s; the test app sweeps every second.
    const w = await spawn(s.teamId, 1, { JIRA_HTTP_TIMEOUT_MS: '2000' });
    const before = fake.refreshCount;
    fake.reuseWindowMs = LEEWAY_MS;
    fake.refreshResponseDelayMs = 30_000; // Atlassian rotates at once, answers much later
    try {
      const outcome = w.go().catch((err: Error) => err);
      while (fake.refreshCount === before) await new Promise((r) => setTimeout(r, 20));
      w.kill();
      expect(await outcome).toBeInstanceOf(Error);
    } finally {
      fake.refreshResponseDelayMs = 0;
    }
    // Atlassian has moved on; the row still holds the rotated-away refresh token, marked in flight.
    expect(fake.currentRefreshTokenOf(s.refreshToken)).not.toBe(s.refreshToken);
    const row = await storedIntegration(t.dataSource, s.teamId);
    expect(row).toMatchObject({ refreshToken: s.refreshToken, refreshInFlightVersion: row.tokenVersion });
    expect(row.refreshLeaseOwner).toMatch(/:\d+:/);
    // Nobody calls. The dead worker's lease lapses and the other instance's sweep presents the same token again.
    const deadline = Date.now() + LEEWAY_MS;
    while (Date.now() < deadline && !(await chainIntact(t.dataSource, fake, s.teamId))) await new Promise((r) => setTimeout(r, 100));
    expect(await chainIntact(t.dataSource, fake, s.teamId)).toBe(true);
    expect((await t.http.get('/metrics')).text).toMatch(/jira_token_refresh_total\{outcome="recovered"\} [1-9]/);
    // After the leeway (ended, not waited out: the fake now treats any rotated-away token as reused), the grant still works.
    fake.reuseWindowMs = 0;
    await t.dataSource.query(`UPDATE jira_integrations SET access_token_expires_at = now() - interval '1 minute' WHERE team_id = $1`, [s.teamId]);
    await expect(t.app.get(JiraTokenManager).getAccessToken(s.teamId)).resolves.toEqual(expect.any(String));
    expect(await chainIntact(t.dataSource, fake, s.teamId)).toBe(true);
    expect((await storedIntegration(t.dataSource, s.teamId)).status).toBe('connected');
  }, 120_000);
});
