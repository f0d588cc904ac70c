import type { DataSource } from 'typeorm';
import type { JiraNotification } from '../entities/jira-notification.entity.js';
import type { JiraWebhookDelivery } from '../entities/jira-webhook-delivery.entity.js';

/** The queue entities the runner claims from: both are RetriedWork with a status 'pending'. */
export type LeasedEntity = typeof JiraNotification | typeof JiraWebhookDelivery;

/**
 * The runner's one claim, for its queues: up to `limit` pending rows due by `now` whose lease is
 * free or lapsed, taken under `FOR UPDATE SKIP LOCKED` (instances never take the same row), leased
 * until `leaseUntil` and their attempt counted, in one short statement
 * (`UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING …`). No transaction or lock is
 * held afterwards: the work runs under the lease, and a crashed instance's rows are claimed again
 * once it lapses. jira_jobs (the periodic jobs) is claimed with the same shape in job-runner.ts.
 * `columns` (database names, returned as the raw rows' keys) come from the callers' constants.
 */
export async function claimLeased<Row>(ds: DataSource, entity: LeasedEntity, columns: readonly string[],
  now: Date, leaseUntil: Date, limit: number): Promise<Row[]> {
  const due = ds.createQueryBuilder()
    .subQuery()
    .select('due.id')
    .from(entity, 'due')
    .where(`due.status = 'pending'`)
    .andWhere('due.nextAttemptAt <= :now', { now })
    .andWhere('(due.lockedUntil IS NULL OR due.lockedUntil <= :now)')
    .orderBy('due.nextAttemptAt')
    .limit(limit)
    .setLock('pessimistic_write')
    .setOnLocked('skip_locked');
  const { raw } = await ds.createQueryBuilder()
    .update(entity)
    .set({ lockedUntil: leaseUntil, attempts: () => 'attempts + 1' })
    .where(`id IN ${due.getQuery()}`)
    .setParameters(due.getParameters())
    .returning(columns.map((c) => `"${c}"`).join(', '))
    .execute();
  return raw as Row[];
}
