import type { DataSource, EntityTarget, ObjectLiteral } from 'typeorm';
import type { TokenCipher } from '../integrations/jira/common/crypto/token-cipher.js';
import { JiraIntegration } from '../integrations/jira/entities/jira-integration.entity.js';

/**
 * Every encrypted column in the schema: entity, columns (database names: the AAD binds each value
 * to its column's name), and the column naming the owning team when the AAD binds the value to its
 * team too (legacy column-only values are rewritten).
 */
export const ENCRYPTED_COLUMNS: readonly { entity: EntityTarget<ObjectLiteral>; columns: readonly string[]; team?: string }[] = [
  { entity: JiraIntegration, columns: ['access_token', 'refresh_token', 'client_credential'], team: 'team_id' },
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
  for (const { entity, columns, team } of ENCRYPTED_COLUMNS) {
    const metadata = ds.getMetadata(entity);
    const key = metadata.primaryColumns[0].databaseName;
    const property = (column: string): string => metadata.findColumnWithDatabaseName(column)!.propertyName;
    let after: string | null = null;
    for (;;) {
      const done: boolean = await ds.transaction(async (m) => {
        // Raw rows: the stored ciphertexts, never opened by the entity's token subscriber.
        const select = m.createQueryBuilder(entity, 't').select(`t.${key}`, 'id');
        if (team) select.addSelect(`t.${team}`, 'owner_team');
        for (const column of columns) select.addSelect(`t.${column}`, column);
        if (after !== null) select.where(`t.${key} > :after`, { after });
        const rows = (await select.orderBy(`t.${key}`).limit(batchSize).setLock('pessimistic_write').getRawMany()) as Record<string, string | null>[];
        for (const row of rows) {
          const updates: Record<string, string> = {};
          for (const column of columns) {
            const stored = row[column];
            if (stored === null) continue;
            const teamId = team ? String(row.owner_team) : undefined;
            if (!cipher.isStale(stored) && !(teamId && cipher.isLegacy(stored))) {
              result.current += 1;
              continue;
            }
            updates[property(column)] = teamId
              ? cipher.encryptForTeam(cipher.decryptForTeam(stored, column, teamId), column, teamId)
              : cipher.encrypt(cipher.decrypt(stored, column), column);
          }
          const rotated = Object.keys(updates).length;
          if (rotated > 0) {
            // Already ciphertexts: no subscriber may seal them again.
            await m.createQueryBuilder().update(entity).set(updates).where(`${key} = :id`, { id: row.id }).callListeners(false).execute();
            result.rotated += rotated;
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
