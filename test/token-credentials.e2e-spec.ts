import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TokenCipher } from '../src/integrations/jira/common/crypto/token-cipher.js';
import { EncryptionService } from '../src/integrations/jira/common/crypto/encryption.service.js';
import { JiraKeepAliveJob } from '../src/integrations/jira/tokens/jira-keepalive.job.js';
import { JiraTokenManager } from '../src/integrations/jira/tokens/jira-token-manager.service.js';
import { StoredKeyCheck, unknownKeyIds } from '../src/integrations/jira/tokens/stored-key-check.js';
import { fileFixtures } from './helpers/fixtures.js';
import { chainIntact, seedIntegration, storedIntegration, type SeededIntegration } from './helpers/jira-seed.js';

const DAY = 24 * 60 * 60_000;

/** The file's fake Atlassian and its app: file-scoped fixtures (test/helpers/fixtures.ts). */
const { useApp, useFake } = fileFixtures();

/*
 * Stored credentials that cannot be decrypted (a wrong or dropped key, a ciphertext copied from
 * another team's row) must be reported as such, never as "connected" plus a 500, and must never
 * stop the keep-alive of the other rows.
 */
describe('unreadable stored credentials', () => {
  const fake = useFake();
  const t = useApp({ env: { JIRA_REFRESH_BACKOFF_MS: '20' } });

  /** Re-encrypts the row's tokens under a key this app does not have (as after a lost ENCRYPTION_KEY). */
  async function poison(s: SeededIntegration): Promise<string> {
    const foreign = new TokenCipher(randomBytes(32));
    await t.dataSource.query('UPDATE jira_integrations SET access_token = $2, refresh_token = $3 WHERE team_id = $1', [
      s.teamId, foreign.encryptForTeam(s.accessToken, 'access_token', s.teamId), foreign.encryptForTeam(s.refreshToken, 'refresh_token', s.teamId)]);
    return foreign.currentKeyId;
  }

  const member = async (teamId: string) => (await t.member('owner', teamId)).headers;

  it('a poison row does not stop the keep-alive of valid rows, and is reported', async () => {
    await t.dataSource.query('DELETE FROM jira_integrations');
    // Oldest first: the poison row is claimed before every valid one.
    const bad = await seedIntegration(t.dataSource, fake, { lastRefreshedAgoMs: 60 * DAY });
    await poison(bad);
    const good: SeededIntegration[] = [];
    for (let i = 0; i < 3; i++) good.push(await seedIntegration(t.dataSource, fake, { lastRefreshedAgoMs: (40 - i) * DAY }));
    const pending = await seedIntegration(t.dataSource, fake, { lastRefreshedAgoMs: 35 * DAY });
    await t.dataSource.query(`UPDATE jira_integrations SET status = 'pending_site_selection', cloud_id = NULL WHERE team_id = $1`, [pending.teamId]);

    const report = await t.app.get(JiraKeepAliveJob).runOnce();
    expect(report).toMatchObject({ refreshed: 4, failed: 0, unreadable: 1 });
    expect(report.claimed[0]).toBe(bad.integrationId);
    for (const s of [...good, pending]) expect(await chainIntact(t.dataSource, fake, s.teamId)).toBe(true);
    expect(await storedIntegration(t.dataSource, pending.teamId)).toMatchObject({ status: 'pending_site_selection' });

    const [row] = await t.dataSource.query('SELECT last_error_code, refresh_lease_owner, refresh_in_flight_version FROM jira_integrations WHERE team_id = $1', [bad.teamId]);
    expect(row).toEqual({ last_error_code: 'jira_credentials_unreadable', refresh_lease_owner: null, refresh_in_flight_version: null });
    expect((await t.http.get('/metrics')).text).toMatch(/jira_token_refresh_total\{outcome="credentials_unreadable"\} [1-9]/);
  });

  it('status reports jira_credentials_unreadable and token calls answer 503 with that code, never a 500', async () => {
    const s = await seedIntegration(t.dataSource, fake, { expiresInMs: 30 * 60_000 });
    await poison(s);
    const headers = await member(s.teamId);
    const status = await t.http.get('/api/integrations/jira/oauth/status').set(headers);
    expect(status.status).toBe(200);
    expect(status.body.data).toMatchObject({ status: 'connected', lastError: { code: 'jira_credentials_unreadable' } });
    await expect(t.app.get(JiraTokenManager).getAccessToken(s.teamId)).rejects.toMatchObject({ code: 'jira_credentials_unreadable', status: 503 });
    const verify = await t.http.get('/api/integrations/jira/oauth/status?verify=true').set(headers);
    expect(verify.status).toBe(200);
    expect(verify.body.data.verification).toEqual({ ok: false, code: 'jira_credentials_unreadable' });
  });

  it('the start-up check names the key ids no configured key can open', async () => {
    const s = await seedIntegration(t.dataSource, fake);
    const foreignKeyId = await poison(s);
    expect(await unknownKeyIds(t.dataSource, t.app.get(EncryptionService))).toContain(foreignKeyId);
    expect(await unknownKeyIds(t.dataSource, t.app.get(EncryptionService))).not.toContain(t.app.get(EncryptionService).currentKeyId);
    const check = (isProduction: boolean) =>
      new StoredKeyCheck(t.dataSource, t.app.get(EncryptionService), { production: isProduction }).onApplicationBootstrap();
    await expect(check(true)).rejects.toThrow(new RegExp(`key id\\(s\\) [^.]*${foreignKeyId}`));
    await expect(check(false)).resolves.toBeUndefined();
    expect(t.logs.lines.some((l) => l.includes(foreignKeyId) && l.includes('ENCRYPTION_PREVIOUS_KEYS'))).toBe(true);
  });

  it('a ciphertext copied into another team\'s row fails to decrypt there', async () => {
    const a = await seedIntegration(t.dataSource, fake, { expiresInMs: 30 * 60_000 });
    const b = await seedIntegration(t.dataSource, fake, { expiresInMs: 30 * 60_000 });
    // Sanity: each row reads fine in its own team.
    expect(await t.app.get(JiraTokenManager).getAccessToken(b.teamId)).toBe(b.accessToken);
    await t.dataSource.query(`UPDATE jira_integrations SET (access_token, refresh_token) =
      (SELECT access_token, refresh_token FROM jira_integrations WHERE team_id = $1) WHERE team_id = $2`, [a.teamId, b.teamId]);
    await expect(t.app.get(JiraTokenManager).getAccessToken(b.teamId)).rejects.toMatchObject({ code: 'jira_credentials_unreadable' });
    await expect(storedIntegration(t.dataSource, b.teamId)).rejects.toThrow(/could not be decrypted/);
    expect(await t.app.get(JiraTokenManager).getAccessToken(a.teamId)).toBe(a.accessToken);
  });

  it('never logs a token or the client secret', () => {
    expect(t.logs.leaked(fake.issuedSecrets())).toEqual([]);
  });
});
