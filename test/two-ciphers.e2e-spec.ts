import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect } from 'vitest';
import { keyIdOf, TokenCipher } from '../src/integrations/jira/common/crypto/token-cipher.js';
import { JiraClient } from '../src/integrations/jira/client/jira-client.js';
import { fileFixtures } from './helpers/fixtures.js';
import { seedIntegration, storedIntegration } from './helpers/jira-seed.js';
import { connect, integrationRow } from './helpers/oauth-flow.js';
import type { TestApp } from './helpers/test-app.js';
import { cloneTemplateDatabase, usingPostgres } from './helpers/test-db.js';

/*
 * Issue 18, item 6: no process-wide cipher. Two apps in one process, each with its own
 * ENCRYPTION_KEY and its own database, both booted before either is used:
 * each seals with its own key on every write path (the OAuth callback, a refresh, the entity
 * subscriber of a seed) and reads its own rows back. With the cipher that the last booted app
 * installed for the whole process, the first app's refresh sealed with the second's key and its
 * status answered jira_credentials_unreadable.
 */
const { test: it } = fileFixtures();
const STATUS = '/api/integrations/jira/oauth/status';

describe('two module instances with different keys in one process', () => {
  const keyA = randomBytes(32);
  const keyB = randomBytes(32);
  let second: Awaited<ReturnType<typeof cloneTemplateDatabase>> | undefined;
  afterAll(async () => second?.drop());
  /**
   * A database of each app's own: on PostgreSQL the file's and a second clone of the run's
   * template (no migrations to run), else two in-memory embedded ones.
   */
  const ownDatabase = async (key: Buffer, first: boolean) => {
    const database = !usingPostgres() ? { DATABASE_URL: undefined, DATA_DIR: 'memory://' }
      : first ? {} : { DATABASE_URL: (second = await cloneTemplateDatabase(process.env.DATABASE_URL!)).url };
    return { env: { ENCRYPTION_KEY: key.toString('base64'), ENCRYPTION_PREVIOUS_KEYS: undefined, ...database } };
  };

  it('each seals with its own key on every write path and reads only its own rows', async ({ fake, bootApp }) => {
    const a = await bootApp(await ownDatabase(keyA, true));
    const b = await bootApp(await ownDatabase(keyB, false));

    const check = async (t: TestApp, key: Buffer, other: Buffer) => {
      // The OAuth callback's write (JiraOAuthService).
      const m = await t.member('owner');
      expect((await connect(t, fake, m)).res.status).toBe(200);
      const connected = await integrationRow(t, m.teamId);
      expect(TokenCipher.keyIdOf(String(connected?.access_token))).toBe(keyIdOf(key));

      // A seed through the entity (this instance's subscriber), then a refresh on the way to Jira (JiraTokenManager).
      const seeded = await seedIntegration(t.dataSource, fake); // stored token already due
      const [{ access_token: sealedBySeed }] = (await t.dataSource.query('SELECT access_token FROM jira_integrations WHERE team_id = $1', [seeded.teamId])) as { access_token: string }[];
      expect(TokenCipher.keyIdOf(sealedBySeed)).toBe(keyIdOf(key));
      const refreshes = fake.refreshCount;
      expect((await t.app.get(JiraClient).forTeam(seeded.teamId).myself()).accountId).toBe(fake.account.accountId);
      expect(fake.refreshCount).toBe(refreshes + 1);
      const refreshed = await integrationRow(t, seeded.teamId);
      expect(refreshed?.access_token).not.toBe(sealedBySeed);
      expect(TokenCipher.keyIdOf(String(refreshed?.access_token))).toBe(keyIdOf(key));
      expect(TokenCipher.keyIdOf(String(refreshed?.refresh_token))).toBe(keyIdOf(key));
      expect((await storedIntegration(t.dataSource, seeded.teamId)).accessToken).not.toBe(seeded.accessToken);

      // Its status reads its own rows (no jira_credentials_unreadable), and the other key cannot open them.
      for (const member of [m, await t.member('owner', seeded.teamId)]) {
        const status = await t.http.get(STATUS).set(member.headers);
        expect(status.status).toBe(200);
        expect(status.body.data.status).toBe('connected');
        expect(status.body.data.lastError ?? null).toBeNull();
      }
      expect(() => new TokenCipher(other).decryptForTeam(String(refreshed?.access_token), 'access_token', seeded.teamId)).toThrow(/could not be decrypted/);
    };
    // A first, although B was booted last; then B.
    await check(a, keyA, keyB);
    await check(b, keyB, keyA);
  });
});
