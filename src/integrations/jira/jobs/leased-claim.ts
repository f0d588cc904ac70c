import type { DataSource } from 'typeorm';

/** The queue tables the runner claims from: both have id, status 'pending', next_attempt_at, locked_until, attempts. */
export type LeasedTable = 'jira_notification_outbox' | 'jira_webhook_events';

/**
 * The runner's one claim, for its queues: up to `limit` pending rows due by `now` whose lease is
 * free or lapsed, taken under `FOR UPDATE SKIP LOCKED` (instances never take the same row), leased
 * until `leaseUntil` and their attempt counted, in one short statement. No transaction or lock is
 * held afterwards: the work runs under the lease, and a crashed instance's rows are claimed again
 * once it lapses. jira_jobs (the periodic jobs) is claimed with the same shape in job-runner.ts.
 *
 * Raw SQL, kept for a reason: the two queue tables have no TypeORM entity (entities/ is being
 * reworked separately), and the statement is one table-parameterized shape; `table` and
 * `columns` come from the callers' constants, never from input.
 */
export async function claimLeased<Row>(ds: DataSource, table: LeasedTable, columns: readonly string[],
  now: Date, leaseUntil: Date, limit: number): Promise<Row[]> {
  // UPDATE … RETURNING answers [rows, affected] through TypeORM.
  const [rows] = (await ds.query(
    `UPDATE ${table} o SET locked_until = $2, attempts = o.attempts + 1
       FROM (SELECT id FROM ${table}
              WHERE status = 'pending' AND next_attempt_at <= $1 AND (locked_until IS NULL OR locked_until <= $1)
              ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) due
      WHERE o.id = due.id
      RETURNING ${columns.map((c) => `o.${c}`).join(', ')}`,
    [now, leaseUntil, limit],
  )) as [Row[], number];
  return rows;
}
