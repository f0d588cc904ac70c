import type { DataSource } from 'typeorm';
import { JiraIntegration } from '../../src/integrations/jira/entities/jira-integration.entity.js';
import type { FakeAccount, FakeAtlassian } from '../../src/integrations/jira/testing/fake-atlassian/fake-atlassian.js';

export interface SeededIntegration {
  teamId: string;
  integrationId: string;
  /** The token pair stored (plaintext; the row holds it encrypted). */
  accessToken: string;
  refreshToken: string;
  cloudId: string;
}

export interface SeedOptions {
  /** Stored access-token expiry relative to now (negative: already expired). Default -60 s. */
  expiresInMs?: number;
  /** last_refreshed_at relative to now, e.g. -40 days for the keep-alive. Default: now. */
  lastRefreshedAgoMs?: number;
  account?: FakeAccount;
}

/**
 * A connected integration for a new team, with a real grant minted at the fake, written through
 * the repository so the encrypting column transformer applies (as the OAuth callback would).
 */
export async function seedIntegration(dataSource: DataSource, fake: FakeAtlassian, options: SeedOptions = {}): Promise<SeededIntegration> {
  const [team] = (await dataSource.query(`INSERT INTO teams (name) VALUES ('team-' || md5(random()::text)) RETURNING id`)) as { id: string }[];
  const grant = fake.mintGrant(options.account);
  const now = Date.now();
  const saved = await dataSource.getRepository(JiraIntegration).save({
    teamId: team.id,
    status: 'connected',
    cloudId: grant.cloudId,
    siteUrl: (options.account ?? fake.account).sites[0].url,
    siteName: (options.account ?? fake.account).sites[0].name,
    scopes: ['read:jira-user', 'read:jira-work', 'offline_access'],
    accessToken: grant.accessToken,
    refreshToken: grant.refreshToken,
    accessTokenExpiresAt: new Date(now + (options.expiresInMs ?? -60_000)),
    connectedAt: new Date(now - (options.lastRefreshedAgoMs ?? 0)),
    lastRefreshedAt: new Date(now - (options.lastRefreshedAgoMs ?? 0)),
  });
  return { teamId: team.id, integrationId: saved.id, accessToken: grant.accessToken, refreshToken: grant.refreshToken, cloudId: grant.cloudId };
}

/** The stored row, decrypted. */
export async function storedIntegration(dataSource: DataSource, teamId: string): Promise<JiraIntegration> {
  return dataSource.getRepository(JiraIntegration).findOneOrFail({ where: { teamId } });
}

/** The chain is intact when the stored refresh token is the grant's current one and the grant lives. */
export async function chainIntact(dataSource: DataSource, fake: FakeAtlassian, teamId: string): Promise<boolean> {
  const row = await storedIntegration(dataSource, teamId);
  return row.refreshToken !== null && fake.currentRefreshTokenOf(row.refreshToken) === row.refreshToken && !fake.isGrantRevoked(row.refreshToken);
}
