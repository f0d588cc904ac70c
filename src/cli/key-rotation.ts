import type { DataSource } from 'typeorm';
import type { TokenCipher } from '../integrations/jira/common/crypto/token-cipher.js';

/**
 * Every encrypted column in the schema: table, primary key, columns, and the column naming the
 * owning team when the AAD binds the value to its team (legacy column-only values are rewritten).
 */
export const ENCRYPTED_COLUMNS: readonly { table: string; key: string; columns: readonly string[]; team?: string }[] = [
  { table: 'jira_integrations', key: 'id', columns: ['access_token', 'refresh_token', 'client_credential'], team: 'team_id' },
];

export interface RotationResult {
  /** Values rewritten with the current key. */
  rotated: number;
  /** Values already under the current key. */
  current: number;
}

/**
 * Re-encrypts every encrypted value that is not under the current key. Rows are locked while
 * they are rewritten, so a concurrent token refresh either waits or has already committed (its
 * new token is then re-read here, never overwritten with a stale one). Batches keep transactions
 * short; rows are visited in primary-key order so the job can be re-run after an interruption.
 */
export async function rotateEncryptionKeys(ds: DataSource, cipher: TokenCipher, batchSize = 200): Promise<RotationResult> {
  const result: RotationResult = { rotated: 0, current: 0 };
  for (const { table, key, columns, team } of ENCRYPTED_COLUMNS) {
    let after: string | null = null;
    for (;;) {
      const done: boolean = await ds.transaction(async (m) => {
        const rows = (await m.query(
          `SELECT ${key} AS id, ${team ? `${team} AS owner_team, ` : ''}${columns.join(', ')} FROM ${table}
           WHERE ($1::uuid IS NULL OR ${key} > $1::uuid) ORDER BY ${key} LIMIT ${batchSize} FOR UPDATE`,
          [after],
        )) as Record<string, string | null>[];
        for (const row of rows) {
          const updates: string[] = [];
          const values: string[] = [];
          for (const column of columns) {
            const stored = row[column];
            if (stored === null) continue;
            const teamId = team ? String(row.owner_team) : undefined;
            if (!cipher.isStale(stored) && !(teamId && cipher.isLegacy(stored))) {
              result.current += 1;
              continue;
            }
            values.push(teamId
              ? cipher.encryptForTeam(cipher.decryptForTeam(stored, column, teamId), column, teamId)
              : cipher.encrypt(cipher.decrypt(stored, column), column));
            updates.push(`${column} = $${values.length + 1}`);
          }
          if (updates.length > 0) {
            await m.query(`UPDATE ${table} SET ${updates.join(', ')} WHERE ${key} = $1`, [row.id, ...values]);
            result.rotated += updates.length;
          }
        }
        after = rows.length > 0 ? (rows[rows.length - 1].id as string) : after;
        return rows.length < batchSize;
      });
      if (done) break;
    }
  }
  return result;
}
