import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JiraTokenManager } from '../src/integrations/jira/tokens/jira-token-manager.service.js';
import { FakeAtlassian } from '../src/integrations/jira/testing/fake-atlassian/fake-atlassian.js';
import { chainIntact, seedIntegration } from './helpers/jira-seed.js';
import { createTestApp, type TestApp } from './helpers/test-app.js';
import { waitFor } from './helpers/webhook-probe.js';

/** Atlassian's token endpoint answers this late (the case reported in issue 8). */
const SLOW_TOKEN_MS = Number(process.env.TEST_SLOW_TOKEN_MS ?? 9_000);
const POOL = 4;
const REFRESHING_TEAMS = 2 * POOL;
/** Generous for a shared 2-core machine; holding connections across the call made it ≥ SLOW_TOKEN_MS. */
const FAST_MS = 2_000;

/*
 * No connection or lock is held while Atlassian is called: with more teams refreshing against a
 * slow token endpoint than the pool has connections (or PGlite's single session), an unrelated
 * team's status stays fast and /health stays 200.
 */
describe(`a ${SLOW_TOKEN_MS / 1000} s token endpoint does not starve the app (pool of ${POOL})`, () => {
  let fake: FakeAtlassian;
  let t: TestApp;

  beforeAll(async () => {
    fake = await new FakeAtlassian().start();
    t = await createTestApp({ env: { ...fake.env(), DATABASE_POOL_SIZE: String(POOL), JIRA_HTTP_TIMEOUT_MS: String(SLOW_TOKEN_MS + 5_000) } });
  });
  afterAll(async () => {
    await t?.close();
    await fake?.stop();
  });

  it('status of an unrelated team stays fast and /health 200 while refreshes wait on Atlassian; one refresh per team', async () => {
    const unrelated = await t.member('owner');
    await seedIntegration(t.dataSource, fake, { expiresInMs: 30 * 60_000 }).then((s) =>
      t.dataSource.query('UPDATE jira_integrations SET team_id = $1 WHERE team_id = $2', [unrelated.teamId, s.teamId]));
    const teams = await Promise.all(Array.from({ length: REFRESHING_TEAMS }, () => seedIntegration(t.dataSource, fake)));
    const before = fake.refreshCount;
    const arrivedMark = fake.requestLog.length;
    fake.tokenLatencyMs = SLOW_TOKEN_MS;
    const started = Date.now();
    try {
      const tokens = t.app.get(JiraTokenManager);
      const refreshes = Promise.allSettled(teams.flatMap((s) => [tokens.getAccessToken(s.teamId), tokens.getAccessToken(s.teamId)]));
      // Sample once every team's refresh has reached Atlassian (the fake logs requests as they arrive).
      await waitFor(() => fake.requestLog.slice(arrivedMark).filter((r) => r.url.startsWith('/oauth/token')).length >= REFRESHING_TEAMS, 'the refreshes at Atlassian', SLOW_TOKEN_MS);
      const samples: { status: number; health: number; ms: number }[] = [];
      while (Date.now() - started < SLOW_TOKEN_MS - 1_500) {
        const t0 = Date.now();
        const status = await t.http.get('/api/integrations/jira/oauth/status').set(unrelated.headers);
        const health = await t.http.get('/health');
        samples.push({ status: status.status, health: health.status, ms: Date.now() - t0 });
        await new Promise((r) => setTimeout(r, 250));
      }
      const results = await refreshes;
      expect(Date.now() - started).toBeGreaterThanOrEqual(SLOW_TOKEN_MS); // the refreshes really were in flight throughout
      expect(samples.length).toBeGreaterThan(3);
      for (const s of samples) expect(s).toMatchObject({ status: 200, health: 200 });
      expect(Math.max(...samples.map((s) => s.ms))).toBeLessThan(FAST_MS);
      expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
      expect(fake.refreshCount - before).toBe(REFRESHING_TEAMS);
      for (const s of teams) expect(await chainIntact(t.dataSource, fake, s.teamId)).toBe(true);
    } finally {
      fake.tokenLatencyMs = 0;
    }
  }, 60_000);
});
