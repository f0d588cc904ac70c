import { expect } from 'vitest';
import { JiraTokenManager } from '../../src/integrations/jira/tokens/jira-token-manager.service.js';
import type { FakeAtlassian } from '../../src/integrations/jira/testing/fake-atlassian/fake-atlassian.js';
import { chainIntact, storedIntegration } from './jira-seed.js';
import type { TestApp } from './test-app.js';

/** Polls `probe` every 100 ms until it holds, for at most `ms`. */
export async function eventually(probe: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await probe()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return probe();
}

/**
 * The end of every "unknown outcome" test, with nobody calling meanwhile: within the fake's reuse
 * leeway the recovery sweep has finished (nothing left in flight, the stored refresh token the
 * chain's current one); then the leeway is ended through the fake, not waited out (any
 * rotated-away token now revokes the grant), and a refresh presenting the stored token works.
 */
export async function expectGrantAliveAfterLeeway(t: TestApp, fake: FakeAtlassian, teamId: string, leewayMs: number): Promise<void> {
  const settled = async () => (await storedIntegration(t.dataSource, teamId)).refreshInFlightVersion === null;
  expect(await eventually(settled, leewayMs)).toBe(true);
  const leeway = fake.reuseWindowMs;
  fake.reuseWindowMs = 0;
  try {
    expect(await chainIntact(t.dataSource, fake, teamId)).toBe(true);
    const row = await storedIntegration(t.dataSource, teamId);
    expect(row).toMatchObject({ status: 'connected', refreshInFlightVersion: null });
    await t.dataSource.query(`UPDATE jira_integrations SET access_token_expires_at = now() - interval '1 minute' WHERE team_id = $1`, [teamId]);
    const mark = fake.tokenRequests.length;
    await expect(t.app.get(JiraTokenManager).getAccessToken(teamId)).resolves.not.toBe(row.accessToken);
    expect(fake.tokenRequests.slice(mark)).toEqual([expect.objectContaining({ status: 200, refreshToken: row.refreshToken })]);
    expect(await chainIntact(t.dataSource, fake, teamId)).toBe(true);
  } finally {
    fake.reuseWindowMs = leeway;
  }
}
