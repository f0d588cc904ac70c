import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The transactional outbox of notifications to the product's backend (src/notifications/). A row
 * is written in the same transaction as the change it reports and sent later by a worker. No
 * foreign key to teams: a team's `disconnected` must outlive the team it reports on.
 */
export class NotificationOutbox1766000000001 implements MigrationInterface {
  name = 'NotificationOutbox1766000000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE notification_outbox (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        type text NOT NULL CONSTRAINT notification_outbox_type_check CHECK (type ~ '^[a-z][a-z0-9_.:-]{0,99}$'),
        team_id text NOT NULL,
        data jsonb NOT NULL DEFAULT '{}',
        occurred_at timestamptz NOT NULL,
        status text NOT NULL DEFAULT 'pending'
          CONSTRAINT notification_outbox_status_check CHECK (status IN ('pending', 'delivered', 'failed')),
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL,
        locked_until timestamptz,
        last_error text,
        delivered_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    // The worker's scan: due pending rows, oldest first.
    await q.query(`CREATE INDEX notification_outbox_due_idx ON notification_outbox (next_attempt_at) WHERE status = 'pending'`);
    await q.query(`CREATE INDEX notification_outbox_team_id_idx ON notification_outbox (team_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE notification_outbox`);
  }
}
