import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * One periodic job (keep-alive, refresh recovery, webhook renewal, ...): when it is next due and
 * who holds it. JobRunner claims a due row under `FOR UPDATE SKIP LOCKED` with a lease in
 * `locked_until` (the database's time), so one instance of a fleet runs each period, and a crashed
 * instance's lease lapses. Rows are created by the first instance that schedules the job.
 */
@Entity({ name: 'jira_jobs' })
export class JiraJob {
  @PrimaryColumn({ type: 'text' })
  name: string;

  @Column({ name: 'run_at', type: 'timestamptz' })
  runAt: Date;

  @Column({ name: 'locked_until', type: 'timestamptz', nullable: true })
  lockedUntil: Date | null;

  /** Failed attempts in a row (0 after a success): the backoff's exponent. */
  @Column({ type: 'int', default: 0 })
  attempts: number;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError: string | null;

  /** When the last run ended (succeeded or failed): with an instance's own period, when it is due again. */
  @Column({ name: 'last_finished_at', type: 'timestamptz', nullable: true })
  lastFinishedAt: Date | null;
}
