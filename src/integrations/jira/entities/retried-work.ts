import { Column, PrimaryGeneratedColumn } from 'typeorm';

/**
 * The columns a row of retried work has (the webhook inbox, the notification outbox): its id, how
 * often it was tried, when it is next due, who holds it until when, and the last failure.
 */
export abstract class RetriedWork {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'integer', default: 0 })
  attempts: number;

  @Column({ name: 'next_attempt_at', type: 'timestamptz' })
  nextAttemptAt: Date;

  /** A worker that claimed the row holds it until then. */
  @Column({ name: 'locked_until', type: 'timestamptz', nullable: true })
  lockedUntil: Date | null;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError: string | null;
}
