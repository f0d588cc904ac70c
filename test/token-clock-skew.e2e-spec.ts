import { describe, expect, it } from 'vitest';
import { Clock } from '../src/integrations/jira/common/clock.js';
import { JiraTokenManager } from '../src/integrations/jira/tokens/jira-token-manager.service.js';
import { fileFixtures } from './helpers/fixtures.js';
import { expectGrantAliveAfterLeeway } from './helpers/grant-survival.js';
import { chainIntact, seedIntegration, storedIntegration } from './helpers/jira-seed.js';

/** The fake's reuse leeway here (Atlassian: 10 minutes). */
const LEEWAY_MS = 8_000;
const SKEW_MS = 30_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A process whose wall clock is `offsetMs` off. */
class SkewedClock extends Clock {
  constructor(private readonly offsetMs: number) {
    super();
  }

  override now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
}

/** One fake Atlassian for both clock offsets; each describe boots its own two apps (fixtures.ts). */
const { useApp, useFake } = fileFixtures({ fake: { reuseWindowMs: LEEWAY_MS } });

/*
 * Lease times are the database's: an instance whose clock is 30 s ahead or behind neither takes a
 * lease another instance still holds, nor waits 30 s too long to finish a refresh whose holder died.
 */
describe.each([['ahead', SKEW_MS], ['behind', -SKEW_MS]])('a second instance whose clock is 30 s %s', (_label, offsetMs) => {
  const fake = useFake();
  // a never sweeps during the test; the skewed instance sweeps every second.
  const a = useApp({ env: { JIRA_REFRESH_RECOVERY_SECONDS: '300', JIRA_HTTP_TIMEOUT_MS: '1500', JIRA_WEBHOOK_POLL_MS: '600000' } });
  const skewed = useApp({
    env: { JIRA_REFRESH_RECOVERY_SECONDS: '1', JIRA_HTTP_TIMEOUT_MS: '1500', JIRA_WEBHOOK_POLL_MS: '600000' },
    configure: (b) => b.overrideProvider(Clock).useValue(new SkewedClock(offsetMs)),
  });

  it('never takes a lease the other instance holds: one refresh, one token for both', async () => {
    const s = await seedIntegration(a.dataSource, fake);
    fake.tokenLatencyMs = 600;
    try {
      const first = a.app.get(JiraTokenManager).getAccessToken(s.teamId);
      for (let i = 0; i < 200 && !(await storedIntegration(a.dataSource, s.teamId)).refreshLeaseOwner; i++) await sleep(10);
      const second = await skewed.app.get(JiraTokenManager).getAccessToken(s.teamId);
      expect(second).toBe(await first);
      expect(fake.tokenRequests.filter((r) => r.refreshToken === s.refreshToken)).toHaveLength(1);
      expect(await chainIntact(a.dataSource, fake, s.teamId)).toBe(true);
    } finally {
      fake.tokenLatencyMs = 0;
    }
  }, 30_000);

  it('finishes a refresh whose holder died after Atlassian rotated, inside the leeway, with no caller', async () => {
    const s = await seedIntegration(a.dataSource, fake);
    // What a holder killed mid-call leaves: its lease (3 s more, database time), the marker, and a
    // refresh token Atlassian has already rotated away.
    await a.dataSource.query(`UPDATE jira_integrations SET refresh_lease_owner = 'killed:1:x', refresh_lease_expires_at = now() + interval '3 seconds',
      refresh_in_flight_version = token_version, refresh_in_flight_since = now() WHERE team_id = $1`, [s.teamId]);
    const rotated = await fetch(`${fake.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'refresh_token', client_id: fake.clientId, client_secret: fake.clientSecret, refresh_token: s.refreshToken }),
    });
    expect(rotated.status).toBe(200);
    expect(fake.currentRefreshTokenOf(s.refreshToken)).not.toBe(s.refreshToken);
    const started = Date.now();
    while (Date.now() - started < LEEWAY_MS && !(await chainIntact(a.dataSource, fake, s.teamId))) await sleep(100);
    expect(await chainIntact(a.dataSource, fake, s.teamId)).toBe(true);
    expect(Date.now() - started).toBeLessThan(LEEWAY_MS - 1_000);
    await expectGrantAliveAfterLeeway(skewed, fake, s.teamId, LEEWAY_MS);
  }, 40_000);
});
