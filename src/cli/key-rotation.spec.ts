import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenCipher } from '../integrations/jira/common/crypto/token-cipher.js';
import { readDatabaseSettings } from '../config/database.config.js';
import { createDataSource, type AppDataSource } from '../database/data-source.js';
import { JiraIntegration } from '../integrations/jira/entities/jira-integration.entity.js';
import { sealTokenColumns } from '../integrations/jira/entities/jira-integration-tokens.subscriber.js';
import { TokenSealer } from '../integrations/jira/tokens/token-sealing.js';
import { rotateEncryptionKeys } from './key-rotation.js';

describe('encrypted columns and keys:rotate', () => {
  let ds: AppDataSource;
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);
  const plaintexts: string[] = [];
  /** The entity's token columns sealed with `cipher` (as a module instance with those keys would). */
  let unseal: (() => void) | undefined;
  const useCipher = (cipher: TokenCipher): void => {
    unseal?.();
    unseal = sealTokenColumns(ds, TokenSealer.over(cipher));
  };

  beforeAll(async () => {
    ds = createDataSource(readDatabaseSettings());
    await ds.initialize();
    await ds.runMigrations();
  });
  afterAll(async () => {
    await ds.destroy();
  });

  async function seed(teams: number): Promise<void> {
    for (let i = 0; i < teams; i++) {
      const [team] = await ds.query(`INSERT INTO teams (name) VALUES ('rot') RETURNING id`);
      const at = `at-${randomBytes(16).toString('hex')}`;
      const rt = `rt-${randomBytes(16).toString('hex')}`;
      plaintexts.push(at, rt);
      await ds.getRepository(JiraIntegration).save({ teamId: team.id, status: 'connected', cloudId: 'c', accessToken: at, refreshToken: rt });
    }
  }

  async function rawValues(): Promise<string[]> {
    const rows = await ds.query(`
      SELECT access_token AS v FROM jira_integrations UNION ALL SELECT refresh_token FROM jira_integrations`);
    return rows.map((r: { v: string | null }) => r.v).filter((v: string | null): v is string => v !== null);
  }

  it('never writes the plaintext to the column, and reads it back through the entity', async () => {
    useCipher(new TokenCipher(oldKey));
    await seed(3);
    const raw = await rawValues();
    expect(raw.length).toBe(6);
    for (const value of raw) {
      expect(value).toMatch(/^v[12]:/);
      expect(plaintexts.some((p) => value.includes(p))).toBe(false);
    }
    const loaded = await ds.getRepository(JiraIntegration).find();
    expect(loaded.map((i) => i.accessToken).every((t) => t !== null && plaintexts.includes(t))).toBe(true);
  });

  it('rotation rewrites every row under the new key, and the tokens are unchanged', async () => {
    const before = await ds.getRepository(JiraIntegration).find({ order: { id: 'ASC' } });
    const cipher = new TokenCipher(newKey, [oldKey]);
    useCipher(cipher);
    // Batch size 2 forces several batches (rows span pages).
    const result = await rotateEncryptionKeys(ds, cipher, 2);
    expect(result).toEqual({ rotated: 6, current: 0 });
    const raw = await rawValues();
    expect(raw.every((v) => v.split(':')[1] === cipher.currentKeyId)).toBe(true);

    // Only the new key is needed now.
    useCipher(new TokenCipher(newKey));
    const after = await ds.getRepository(JiraIntegration).find({ order: { id: 'ASC' } });
    expect(after.map((i) => [i.accessToken, i.refreshToken])).toEqual(before.map((i) => [i.accessToken, i.refreshToken]));

    const again = await rotateEncryptionKeys(ds, new TokenCipher(newKey));
    expect(again).toEqual({ rotated: 0, current: 6 });
  });

  it('moves legacy column-only ciphertexts of jira_integrations to the team-bound form, under the same key', async () => {
    const cipher = new TokenCipher(newKey);
    useCipher(cipher);
    const [team] = await ds.query(`INSERT INTO teams (name) VALUES ('legacy') RETURNING id`);
    const at = `at-${randomBytes(16).toString('hex')}`;
    // As written before tokens were bound to their team: AAD = column name only.
    await ds.query(`INSERT INTO jira_integrations (team_id, status, cloud_id, access_token) VALUES ($1, 'connected', 'c', $2)`,
      [team.id, cipher.encrypt(at, 'access_token')]);
    expect((await ds.getRepository(JiraIntegration).findOneByOrFail({ teamId: team.id })).accessToken).toBe(at); // still reads
    expect(await rotateEncryptionKeys(ds, cipher)).toEqual({ rotated: 1, current: 6 });
    const [{ access_token: stored }] = await ds.query('SELECT access_token FROM jira_integrations WHERE team_id = $1', [team.id]);
    expect(stored).toMatch(/^v2:/);
    expect(cipher.decryptForTeam(stored, 'access_token', team.id)).toBe(at);
    expect(() => cipher.decryptForTeam(stored, 'access_token', `${team.id}x`)).toThrow(/could not be decrypted/);
  });
});
