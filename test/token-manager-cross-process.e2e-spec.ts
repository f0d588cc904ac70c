import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JiraTokenManager } from '../src/integrations/jira/tokens/jira-token-manager.service.js';
import { FakeAtlassian } from './fake-atlassian/fake-atlassian.js';
import { chainIntact, seedIntegration, storedIntegration } from './helpers/jira-seed.js';
import { createTestApp, type TestApp } from './helpers/test-app.js';
import { usingPostgres } from './helpers/test-db.js';
import { startTokenWorker, type TokenWorker } from './helpers/token-workers.js';

/*
 * Separate OS processes sharing one PostgreSQL database and one (strict) Atlassian: the row lock
 * is the only thing they share, so this is where "once per expiry across all processes" is proven.
 * PGlite is a single in-process database, hence PostgreSQL only.
 */
describe.skipIf(!usingPostgres())('token refresh across processes (PostgreSQL)', () => {
  let fake: FakeAtlassian;
  let t: TestApp;
  const workers: TokenWorker[] = [];

  beforeAll(async () => {
    fake = await new FakeAtlassian().start();
    t = await createTestApp({ env: fake.env() });
  });
  afterAll(async () => {
    for (const w of workers) w.kill();
    await t?.close();
    await fake?.stop();
  });

  const spawn = async (teamId: string, calls: number) => {
    const w = await startTokenWorker({ ...fake.env(), WORKER_TEAM_ID: teamId, WORKER_CALLS: String(calls) });
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

  it('a process killed mid-refresh (Atlassian rotated, nothing committed): the next call recovers', async () => {
    const s = await seedIntegration(t.dataSource, fake);
    const w = await spawn(s.teamId, 1);
    const before = fake.refreshCount;
    fake.refreshResponseDelayMs = 30_000; // Atlassian rotates at once, answers much later
    try {
      const outcome = w.go().catch((err: Error) => err);
      while (fake.refreshCount === before) await new Promise((r) => setTimeout(r, 20));
      w.kill();
      expect(await outcome).toBeInstanceOf(Error);
    } finally {
      fake.refreshResponseDelayMs = 0;
    }
    // Atlassian has moved on; the row still holds the rotated-away refresh token.
    expect(fake.currentRefreshTokenOf(s.refreshToken)).not.toBe(s.refreshToken);
    expect((await storedIntegration(t.dataSource, s.teamId)).refreshToken).toBe(s.refreshToken);
    // The dead process's lock went with its connection; the reuse window lets the old token refresh.
    const started = Date.now();
    const token = await t.app.get(JiraTokenManager).getAccessToken(s.teamId);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(token).not.toBe(s.accessToken);
    expect(await chainIntact(t.dataSource, fake, s.teamId)).toBe(true);
    expect((await storedIntegration(t.dataSource, s.teamId)).status).toBe('connected');
  }, 120_000);
});
