import { describe, expect, it } from 'vitest';
import { JiraRefreshRecoveryJob } from '../src/integrations/jira/tokens/jira-refresh-recovery.job.js';
import { JiraTokenManager } from '../src/integrations/jira/tokens/jira-token-manager.service.js';
import { scriptRefreshes, type RefreshStep } from './fake-atlassian/token-faults.js';
import { fileFixtures } from './helpers/fixtures.js';
import { expectGrantAliveAfterLeeway } from './helpers/grant-survival.js';
import { chainIntact, seedIntegration, storedIntegration } from './helpers/jira-seed.js';

/** The fake's reuse leeway here (Atlassian: 10 minutes). */
const LEEWAY_MS = 4_000;
/** JIRA_HTTP_TIMEOUT_MS: the total deadline of one token call. */
const DEADLINE_MS = 1_500;

/** The file's fake Atlassian and its app: file-scoped fixtures (test/helpers/fixtures.ts). */
const { useApp, useFake } = fileFixtures({ fake: { reuseWindowMs: LEEWAY_MS } });

/*
 * Answers that may come after Atlassian has rotated the refresh token (issue 15's outcome table):
 * whatever the retry then gets, the presented token stays marked in flight, the recovery sweep
 * presents it again inside the reuse leeway, and after the leeway the grant is alive with the
 * chain's current refresh token stored. No caller touches the team after the first call.
 */
describe('an unknown outcome stays unknown until a definite answer for that token', () => {
  const fake = useFake();
  const t = useApp({
    env: {
      JIRA_REFRESH_RECOVERY_SECONDS: '1',
      JIRA_REFRESH_MAX_ATTEMPTS: '2',
      JIRA_REFRESH_BACKOFF_MS: '20',
      JIRA_HTTP_TIMEOUT_MS: String(DEADLINE_MS),
    },
  });

  const expectGrantAlive = (teamId: string) => expectGrantAliveAfterLeeway(t, fake, teamId, LEEWAY_MS);

  const failing: [string, RefreshStep[], string][] = [
    ['rotate, drop the answer; the retry answered 503', [{ rotate: 'drop' }, { refuse: { status: 503 } }], 'atlassian_unavailable'],
    ['rotate, drop the answer; the retry answered 429', [{ rotate: 'drop' }, { refuse: { status: 429, retryAfter: '0' } }], 'atlassian_rate_limited'],
    ['rotate, answer 504 with an HTML page (twice)', [
      { rotate: 'answer', status: 504, contentType: 'text/html', body: '<html><body><h1>504 Gateway Time-out</h1></body></html>' },
      { rotate: 'answer', status: 504, contentType: 'text/html', body: '<html><body><h1>504 Gateway Time-out</h1></body></html>' },
    ], 'atlassian_unavailable'],
    ['rotate, answer 200 with a cut-off body (twice)', [{ rotate: 'cut-off' }, { rotate: 'cut-off' }], 'atlassian_unavailable'],
  ];

  it.each(failing)('%s: marker kept, the sweep re-joins the chain, the grant survives the leeway', async (_name, steps, code) => {
    const s = await seedIntegration(t.dataSource, fake);
    const used = scriptRefreshes(fake, steps);
    await expect(t.app.get(JiraTokenManager).getAccessToken(s.teamId)).rejects.toMatchObject({ code, status: 503 });
    expect(used()).toBe(steps.length);
    expect(fake.currentRefreshTokenOf(s.refreshToken)).not.toBe(s.refreshToken); // Atlassian rotated
    const row = await storedIntegration(t.dataSource, s.teamId);
    expect(row.refreshToken).toBe(s.refreshToken);
    expect(row.refreshInFlightVersion).toBe(row.tokenVersion); // the last failure did not clear it
    await expectGrantAlive(s.teamId);
  }, 30_000);

  it('rotate, then the answer trickles one byte a second: the caller is answered within the deadline plus a margin, the grant survives', async () => {
    const s = await seedIntegration(t.dataSource, fake);
    scriptRefreshes(fake, [{ rotate: 'trickle', byteEveryMs: 1_000 }]);
    const started = performance.now();
    // The trickled attempt is cut at its deadline; the retry presents the same token inside the leeway.
    const token = await t.app.get(JiraTokenManager).getAccessToken(s.teamId);
    const took = performance.now() - started;
    expect(token).not.toBe(s.accessToken);
    expect(took).toBeGreaterThanOrEqual(DEADLINE_MS - 50);
    expect(took).toBeLessThan(DEADLINE_MS + 1_500);
    expect(await chainIntact(t.dataSource, fake, s.teamId)).toBe(true);
    await expectGrantAlive(s.teamId);
  }, 30_000);

  it('a definite refusal (429 with an OAuth error) on a token never sent before clears the marker: nothing is re-presented', async () => {
    const s = await seedIntegration(t.dataSource, fake);
    fake.failNextTokenRequests({ status: 429, body: { error: 'rate_limited' }, retryAfter: '0' }, { status: 429, body: { error: 'rate_limited' }, retryAfter: '0' });
    await expect(t.app.get(JiraTokenManager).getAccessToken(s.teamId)).rejects.toMatchObject({ code: 'atlassian_rate_limited' });
    expect(await storedIntegration(t.dataSource, s.teamId)).toMatchObject({ refreshInFlightVersion: null, refreshToken: s.refreshToken });
    // The sweep's own hook, not a wait for its timer: with the lease lapsed, a row still marked in
    // flight would be presented again by this very sweep.
    await t.dataSource.query(`UPDATE jira_integrations SET refresh_lease_expires_at = now() - interval '1 second' WHERE team_id = $1`, [s.teamId]);
    const mark = fake.tokenRequests.length;
    await expect(t.app.get(JiraRefreshRecoveryJob).sweep()).resolves.toEqual({ recovered: 0, failed: 0 });
    expect(fake.tokenRequests.slice(mark)).toEqual([]);
  });

  it('never logs a token or the client secret', () => {
    expect(t.logs.leaked(fake.issuedSecrets())).toEqual([]);
  });
});
