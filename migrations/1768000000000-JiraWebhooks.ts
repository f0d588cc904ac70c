import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Managed Jira webhooks: one registration row per team (Jira's webhook ids, expiry, errors, and
 * a lease so one instance at a time renews it), and the inbox of received deliveries, which the
 * dispatcher works off with retries and a dead-letter state. team_id is text (ids are opaque).
 */
export class JiraWebhooks1768000000000 implements MigrationInterface {
  name = 'JiraWebhooks1768000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE jira_webhook_registrations (
        team_id text PRIMARY KEY,
        cloud_id text NOT NULL,
        site_url text,
        state text NOT NULL CONSTRAINT jira_webhook_registrations_state_check
          CHECK (state IN ('pending', 'active', 'failed', 'inactive')),
        webhooks jsonb NOT NULL DEFAULT '[]'::jsonb,
        webhook_ids bigint[] NOT NULL DEFAULT '{}',
        expires_at timestamptz,
        last_refreshed_at timestamptz,
        last_delivery_at timestamptz,
        last_error_code text,
        last_error_at timestamptz,
        next_check_at timestamptz NOT NULL,
        lease_until timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX jira_webhook_registrations_due_idx ON jira_webhook_registrations (next_check_at)`);
    await q.query(`CREATE INDEX jira_webhook_registrations_cloud_idx ON jira_webhook_registrations (cloud_id)`);
    await q.query(`
      CREATE TABLE jira_webhook_events (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        team_id text NOT NULL,
        cloud_id text NOT NULL,
        delivery_id text NOT NULL,
        webhook_event text NOT NULL,
        matched_webhook_ids bigint[] NOT NULL DEFAULT '{}',
        subscription_keys text[] NOT NULL DEFAULT '{}',
        payload jsonb NOT NULL,
        status text NOT NULL DEFAULT 'pending' CONSTRAINT jira_webhook_events_status_check
          CHECK (status IN ('pending', 'done', 'dead')),
        attempts integer NOT NULL DEFAULT 0,
        handled_by text[] NOT NULL DEFAULT '{}',
        next_attempt_at timestamptz NOT NULL,
        locked_until timestamptz,
        last_error text,
        jira_retry integer,
        received_at timestamptz NOT NULL,
        handled_at timestamptz,
        CONSTRAINT jira_webhook_events_delivery_key UNIQUE (team_id, delivery_id)
      )`);
    await q.query(`CREATE INDEX jira_webhook_events_pending_idx ON jira_webhook_events (next_attempt_at) WHERE status = 'pending'`);
    await q.query(`CREATE INDEX jira_webhook_events_dead_idx ON jira_webhook_events (received_at) WHERE status = 'dead'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE jira_webhook_events');
    await q.query('DROP TABLE jira_webhook_registrations');
  }
}
