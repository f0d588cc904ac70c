import type { EntityManager } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity.js';
import { JiraIntegration } from '../entities/jira-integration.entity.js';

/** A whole connection as a connect flow writes it: tokens in plaintext (the token subscriber seals them). */
export type ReplacementRow = QueryDeepPartialEntity<JiraIntegration> & { teamId: string; connectedAt: Date };

/**
 * Writes the team's one row whole: inserted (token version 1), or, on a reconnect, the existing
 * row overwritten with `row`, its token version bumped so that a refresh still in flight with the
 * old grant cannot write over the new tokens (its compare-and-set on the version fails). Columns
 * `row` leaves out keep their values on a reconnect. Two statements only on a reconnect; a
 * concurrent first insert makes the other's INSERT do nothing and its UPDATE win, as with an upsert.
 */
export async function replaceIntegration(em: EntityManager, row: ReplacementRow): Promise<string> {
  const now = row.connectedAt;
  const inserted = await em.createQueryBuilder().insert().into(JiraIntegration)
    .values({ ...row, tokenVersion: 1, createdAt: now, updatedAt: now }).orIgnore().returning('id').updateEntity(false).execute();
  const id = (inserted.raw as { id: string }[])[0]?.id;
  if (id) return id;
  const updated = await em.createQueryBuilder().update(JiraIntegration)
    .set({ ...row, tokenVersion: () => 'token_version + 1', updatedAt: now }).where({ teamId: row.teamId }).returning('id').updateEntity(false).execute();
  return (updated.raw as { id: string }[])[0].id;
}
