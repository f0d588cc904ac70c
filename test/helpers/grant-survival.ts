import { expect } from 'vitest';
import { JiraTokenManager } from '../../src/integrations/jira/tokens/jira-token-manager.service.js';
import type { FakeAtlassian } from '../fake-atlassian/fake-atlassian.js';
import { chainIntact, storedIntegration } from './jira-seed.js';
import type { TestApp } from './test-app.js';

/**
 * The end of every "unknown outcome" test: nobody calls until the fake's reuse leeway is over;
 * then the stored refresh token is the chain's current one, nothing is left in flight, and a
 * refresh presenting it still works (a rotated-away token would revoke the grant by now).
 */
export async function expectGrantAliveAfterLeeway(t: TestApp, fake: FakeAtlassian, teamId: string, leewayMs: number): Promise<void> {
  await new Promise((r) => setTimeout(r, leewayMs + 500));
  expect(await chainIntact(t.dataSource, fake, teamId)).toBe(true);
  const row = await storedIntegration(t.dataSource, teamId);
  expect(row).toMatchObject({ status: 'connected', refreshInFlightVersion: null });
  await t.dataSource.query(`UPDATE jira_integrations SET access_token_expires_at = now() - interval '1 minute' WHERE team_id = $1`, [teamId]);
  const mark = fake.tokenRequests.length;
  await expect(t.app.get(JiraTokenManager).getAccessToken(teamId)).resolves.not.toBe(row.accessToken);
  expect(fake.tokenRequests.slice(mark)).toEqual([expect.objectContaining({ status: 200, refreshToken: row.refreshToken })]);
  expect(await chainIntact(t.dataSource, fake, teamId)).toBe(true);
}
