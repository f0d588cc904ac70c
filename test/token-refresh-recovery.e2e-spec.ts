import { EventEmitter2 } from '@nestjs/event-emitter';
import { describe, expect, it } from 'vitest';
import { JiraConnectionEvent } from '../src/integrations/jira/jira.events.js';
import { JiraKeepAliveJob } from '../src/integrations/jira/tokens/jira-keepalive.job.js';
import { JiraTokenManager } from '../src/integrations/jira/tokens/jira-token-manager.service.js';
import { loseRefreshAnswers } from './fake-atlassian/token-faults.js';
import { fileFixtures } from './helpers/fixtures.js';
import { eventually, expectGrantAliveAfterLeeway } from './helpers/grant-survival.js';
import { chainIntact, seedIntegration, storedIntegration } from './helpers/jira-seed.js';

const DAY = 24 * 60 * 60_000;
/** The fake's reuse leeway in these tests (Atlassian: 10 minutes). */
const LEEWAY_MS = 4_000;


/** The file's fake Atlassian and its app: file-scoped fixtures (test/helpers/fixtures.ts). */
const { useApp, useFake } = fileFixtures({ fake: { reuseWindowMs: LEEWAY_MS } });

/*
 * Atlassian rotates the refresh token, then its answer never arrives; afterwards nobody calls.
 * The recovery sweep must present the same stored refresh token again inside the reuse leeway,
 * so that once the leeway is over the grant still works. Without the sweep the stored token is
 * a rotated-away one, and the next use after the leeway revokes the whole grant.
 */
describe('interrupted refreshes are finished inside the reuse leeway, with no caller', () => {
  const fake = useFake();
  const t = useApp({
    env: {
      JIRA_REFRESH_RECOVERY_SECONDS: '1',
      JIRA_REFRESH_MAX_ATTEMPTS: '2',
      JIRA_REFRESH_BACKOFF_MS: '20',
      JIRA_HTTP_TIMEOUT_MS: '1000',
    },
  });

  const recoveredCount = async (): Promise<number> => {
    const text = (await t.http.get('/metrics')).text;
    return Number(/jira_token_refresh_total\{outcome="recovered"\} (\d+)/.exec(text)?.[1] ?? 0);
  };

  const expectGrantAlive = (teamId: string) => expectGrantAliveAfterLeeway(t, fake, teamId, LEEWAY_MS);

  it('hot path: every answer lost after rotation, then no traffic', async () => {
    const s = await seedIntegration(t.dataSource, fake);
    const recoveredBefore = await recoveredCount();
    const recoveredEvents: { teamId: string }[] = [];
    t.app.get(EventEmitter2).on(JiraConnectionEvent.Recovered, (e: { teamId: string }) => recoveredEvents.push(e));
    const lost = loseRefreshAnswers(fake, 2); // both attempts of the caller rotate and lose their answer
    await expect(t.app.get(JiraTokenManager).getAccessToken(s.teamId)).rejects.toMatchObject({ code: 'atlassian_unavailable', status: 503 });
    expect(lost()).toBe(2);
    expect(fake.currentRefreshTokenOf(s.refreshToken)).not.toBe(s.refreshToken);
    const row = await storedIntegration(t.dataSource, s.teamId);
    expect(row).toMatchObject({ refreshToken: s.refreshToken, refreshInFlightVersion: row.tokenVersion, lastErrorCode: 'atlassian_unavailable' });
    // No caller from here on: the sweep finishes it.
    expect(await eventually(() => chainIntact(t.dataSource, fake, s.teamId), LEEWAY_MS)).toBe(true);
    expect(await storedIntegration(t.dataSource, s.teamId)).toMatchObject({ refreshInFlightVersion: null, refreshLeaseOwner: null, lastErrorCode: null });
    expect(await recoveredCount()).toBe(recoveredBefore + 1);
    // The previous lastError is cleared by that refresh: one "recovered" event, after its commit.
    expect(recoveredEvents.filter((e) => e.teamId === s.teamId)).toEqual([{ teamId: s.teamId, integrationId: s.integrationId, cloudId: s.cloudId }]);
    await expectGrantAlive(s.teamId);
  });

  it('keep-alive: answer lost after rotation, then no traffic', async () => {
    const s = await seedIntegration(t.dataSource, fake, { expiresInMs: 30 * 60_000, lastRefreshedAgoMs: 40 * DAY });
    loseRefreshAnswers(fake, 2);
    const report = await t.app.get(JiraKeepAliveJob).runOnce();
    expect(report).toMatchObject({ claimed: [s.integrationId], refreshed: 0, failed: 1 });
    expect((await storedIntegration(t.dataSource, s.teamId)).refreshToken).toBe(s.refreshToken);
    expect(fake.currentRefreshTokenOf(s.refreshToken)).not.toBe(s.refreshToken);
    expect(await eventually(() => chainIntact(t.dataSource, fake, s.teamId), LEEWAY_MS)).toBe(true);
    expect((await storedIntegration(t.dataSource, s.teamId)).lastRefreshedAt!.getTime()).toBeGreaterThan(Date.now() - 60_000);
    await expectGrantAlive(s.teamId);
  });

  it('an answer that arrives after the client gave up (delayed past the timeout) is recovered the same way', async () => {
    const s = await seedIntegration(t.dataSource, fake);
    loseRefreshAnswers(fake, 2, { delayMs: 1_500 });
    await expect(t.app.get(JiraTokenManager).getAccessToken(s.teamId)).rejects.toMatchObject({ code: 'atlassian_unavailable' });
    expect(await eventually(() => chainIntact(t.dataSource, fake, s.teamId), LEEWAY_MS)).toBe(true);
    await expectGrantAlive(s.teamId);
  });

  it('a 503 is not a definite answer (it may follow a rotation): the marker stays and the sweep presents the same token again', async () => {
    const s = await seedIntegration(t.dataSource, fake);
    fake.failNextTokenRequests({ status: 503 }, { status: 503 });
    await expect(t.app.get(JiraTokenManager).getAccessToken(s.teamId)).rejects.toMatchObject({ code: 'atlassian_unavailable' });
    const row = await storedIntegration(t.dataSource, s.teamId);
    expect(row).toMatchObject({ refreshInFlightVersion: row.tokenVersion, refreshToken: s.refreshToken });
    const mark = fake.tokenRequests.length;
    expect(await eventually(async () => (await storedIntegration(t.dataSource, s.teamId)).refreshInFlightVersion === null, LEEWAY_MS)).toBe(true);
    expect(fake.tokenRequests.slice(mark)).toEqual([expect.objectContaining({ status: 200, refreshToken: s.refreshToken })]);
    expect(await chainIntact(t.dataSource, fake, s.teamId)).toBe(true);
  });

  it('never logs a token or the client secret', () => {
    expect(t.logs.leaked(fake.issuedSecrets())).toEqual([]);
  });
});
