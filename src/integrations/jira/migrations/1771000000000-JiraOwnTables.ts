import type { MigrationInterface, QueryRunner } from 'typeorm';

/*
 * The module owns only `jira_*` tables (issue 18). Until now its migrations were the standalone
 * server's: they created `teams`, `users`, `team_members` and `notification_outbox` too, and the
 * Jira tables had foreign keys to `teams`/`users`, so a host with tables of those names clashed on
 * the first migration. `jiraConnectMigrations` is now this one migration:
 *
 * - a database without `jira_integrations` (a new host) gets the module's five tables in their
 *   current shape, and nothing else;
 * - a database that ran the earlier migrations (the standalone server, or a host that embedded an
 *   earlier version) is brought to that same shape in place, every row kept: the foreign keys to
 *   `teams`/`users` go (the admin API's team deletion removes a team's Jira rows itself), the
 *   never-written `jira_oauth_states.code_verifier` goes, and `notification_outbox` becomes
 *   `jira_notification_outbox`. Their `teams`/`users`/`team_members` stay: they are the
 *   standalone server's (a host that has no use for them may drop them).
 *
 * test/migrations-upgrade.e2e-spec.ts checks that both paths give the same schema.
 */

/** The five tables as a new host gets them (pg_dump of an upgraded database, `public.` removed). */
const FRESH: readonly string[] = [
  `CREATE TABLE jira_integrations (
       id uuid DEFAULT gen_random_uuid() NOT NULL,
       team_id text NOT NULL,
       status text NOT NULL,
       cloud_id text,
       site_url text,
       site_name text,
       available_sites jsonb,
       scopes text[] DEFAULT '{}'::text[] NOT NULL,
       connected_by_user_id text,
       atlassian_account_id text,
       atlassian_account_name text,
       access_token text,
       refresh_token text,
       access_token_expires_at timestamp with time zone,
       token_version integer DEFAULT 0 NOT NULL,
       connected_at timestamp with time zone,
       last_refreshed_at timestamp with time zone,
       last_error_code text,
       last_error_at timestamp with time zone,
       created_at timestamp with time zone DEFAULT now() NOT NULL,
       updated_at timestamp with time zone DEFAULT now() NOT NULL,
       refresh_lease_owner text,
       refresh_lease_expires_at timestamp with time zone,
       refresh_in_flight_version integer,
       refresh_in_flight_since timestamp with time zone,
       consented_at timestamp with time zone,
       reconsent_notice_days integer,
       connector_left_at timestamp with time zone,
       account_updated_at timestamp with time zone,
       account_reported_at timestamp with time zone,
       account_report_lease_until timestamp with time zone,
       connection_type text DEFAULT 'oauth'::text NOT NULL,
       client_credential text,
       CONSTRAINT jira_integrations_connected_has_site CHECK (((status <> 'connected'::text) OR (cloud_id IS NOT NULL))),
       CONSTRAINT jira_integrations_connection_type_check CHECK ((connection_type = ANY (ARRAY['oauth'::text, 'service_account'::text]))),
       CONSTRAINT jira_integrations_status_check CHECK ((status = ANY (ARRAY['pending_site_selection'::text, 'connected'::text, 'reauthorization_required'::text])))
   )`,
  `CREATE TABLE jira_notification_outbox (
       id uuid DEFAULT gen_random_uuid() NOT NULL,
       type text NOT NULL,
       team_id text NOT NULL,
       data jsonb DEFAULT '{}'::jsonb NOT NULL,
       occurred_at timestamp with time zone NOT NULL,
       status text DEFAULT 'pending'::text NOT NULL,
       attempts integer DEFAULT 0 NOT NULL,
       next_attempt_at timestamp with time zone NOT NULL,
       locked_until timestamp with time zone,
       last_error text,
       delivered_at timestamp with time zone,
       created_at timestamp with time zone DEFAULT now() NOT NULL,
       CONSTRAINT jira_notification_outbox_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'delivered'::text, 'failed'::text]))),
       CONSTRAINT jira_notification_outbox_type_check CHECK ((type ~ '^[a-z][a-z0-9_.:-]{0,99}$'::text))
   )`,
  `CREATE TABLE jira_oauth_states (
       id uuid DEFAULT gen_random_uuid() NOT NULL,
       state_hash text NOT NULL,
       team_id text NOT NULL,
       user_id text NOT NULL,
       binding_hash text NOT NULL,
       site_hint text,
       return_to text,
       expires_at timestamp with time zone NOT NULL,
       consumed_at timestamp with time zone,
       created_at timestamp with time zone DEFAULT now() NOT NULL,
       superseded_at timestamp with time zone
   )`,
  `CREATE TABLE jira_webhook_events (
       id uuid DEFAULT gen_random_uuid() NOT NULL,
       team_id text NOT NULL,
       cloud_id text NOT NULL,
       delivery_id text NOT NULL,
       webhook_event text NOT NULL,
       matched_webhook_ids bigint[] DEFAULT '{}'::bigint[] NOT NULL,
       subscription_keys text[] DEFAULT '{}'::text[] NOT NULL,
       payload jsonb NOT NULL,
       status text DEFAULT 'pending'::text NOT NULL,
       attempts integer DEFAULT 0 NOT NULL,
       handled_by text[] DEFAULT '{}'::text[] NOT NULL,
       next_attempt_at timestamp with time zone NOT NULL,
       locked_until timestamp with time zone,
       last_error text,
       jira_retry integer,
       received_at timestamp with time zone NOT NULL,
       handled_at timestamp with time zone,
       raw_body bytea,
       CONSTRAINT jira_webhook_events_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'done'::text, 'dead'::text])))
   )`,
  `CREATE TABLE jira_webhook_registrations (
       team_id text NOT NULL,
       cloud_id text NOT NULL,
       site_url text,
       state text NOT NULL,
       webhooks jsonb DEFAULT '[]'::jsonb NOT NULL,
       webhook_ids bigint[] DEFAULT '{}'::bigint[] NOT NULL,
       expires_at timestamp with time zone,
       last_refreshed_at timestamp with time zone,
       last_delivery_at timestamp with time zone,
       last_error_code text,
       last_error_at timestamp with time zone,
       next_check_at timestamp with time zone NOT NULL,
       lease_until timestamp with time zone,
       created_at timestamp with time zone DEFAULT now() NOT NULL,
       updated_at timestamp with time zone DEFAULT now() NOT NULL,
       CONSTRAINT jira_webhook_registrations_state_check CHECK ((state = ANY (ARRAY['pending'::text, 'active'::text, 'failed'::text, 'inactive'::text])))
   )`,
  `ALTER TABLE ONLY jira_integrations
       ADD CONSTRAINT jira_integrations_pkey PRIMARY KEY (id)`,
  `ALTER TABLE ONLY jira_integrations
       ADD CONSTRAINT jira_integrations_team_id_key UNIQUE (team_id)`,
  `ALTER TABLE ONLY jira_oauth_states
       ADD CONSTRAINT jira_oauth_states_pkey PRIMARY KEY (id)`,
  `ALTER TABLE ONLY jira_oauth_states
       ADD CONSTRAINT jira_oauth_states_state_hash_key UNIQUE (state_hash)`,
  `ALTER TABLE ONLY jira_webhook_events
       ADD CONSTRAINT jira_webhook_events_delivery_key UNIQUE (team_id, delivery_id)`,
  `ALTER TABLE ONLY jira_webhook_events
       ADD CONSTRAINT jira_webhook_events_pkey PRIMARY KEY (id)`,
  `ALTER TABLE ONLY jira_webhook_registrations
       ADD CONSTRAINT jira_webhook_registrations_pkey PRIMARY KEY (team_id)`,
  `ALTER TABLE ONLY jira_notification_outbox
       ADD CONSTRAINT jira_notification_outbox_pkey PRIMARY KEY (id)`,
  `CREATE INDEX jira_integrations_account_id_idx ON jira_integrations USING btree (atlassian_account_id) WHERE (atlassian_account_id IS NOT NULL)`,
  `CREATE INDEX jira_integrations_consented_at_idx ON jira_integrations USING btree (consented_at)`,
  `CREATE INDEX jira_integrations_keepalive_idx ON jira_integrations USING btree (COALESCE(last_refreshed_at, connected_at)) WHERE ((status = 'connected'::text) AND (refresh_token IS NOT NULL))`,
  `CREATE INDEX jira_integrations_refresh_in_flight_idx ON jira_integrations USING btree (refresh_lease_expires_at) WHERE (refresh_in_flight_version IS NOT NULL)`,
  `CREATE INDEX jira_oauth_states_expires_at_idx ON jira_oauth_states USING btree (expires_at)`,
  `CREATE INDEX jira_oauth_states_team_id_idx ON jira_oauth_states USING btree (team_id)`,
  `CREATE INDEX jira_webhook_events_dead_idx ON jira_webhook_events USING btree (received_at) WHERE (status = 'dead'::text)`,
  `CREATE INDEX jira_webhook_events_pending_idx ON jira_webhook_events USING btree (next_attempt_at) WHERE (status = 'pending'::text)`,
  `CREATE INDEX jira_webhook_registrations_cloud_idx ON jira_webhook_registrations USING btree (cloud_id)`,
  `CREATE INDEX jira_webhook_registrations_due_idx ON jira_webhook_registrations USING btree (next_check_at)`,
  `CREATE INDEX jira_notification_outbox_due_idx ON jira_notification_outbox USING btree (next_attempt_at) WHERE (status = 'pending'::text)`,
  `CREATE INDEX jira_notification_outbox_team_id_idx ON jira_notification_outbox USING btree (team_id)`
];

/** The historical first migration: recorded only where the earlier migrations ran (down's test). */
const HISTORICAL_FIRST = 'InitialSchema1764000000000';

const OUTBOX_RENAMES: readonly [string, string][] = [
  ['notification_outbox_status_check', 'jira_notification_outbox_status_check'],
  ['notification_outbox_type_check', 'jira_notification_outbox_type_check'],
  ['notification_outbox_pkey', 'jira_notification_outbox_pkey'],
];
const OUTBOX_INDEX_RENAMES: readonly [string, string][] = [
  ['notification_outbox_due_idx', 'jira_notification_outbox_due_idx'],
  ['notification_outbox_team_id_idx', 'jira_notification_outbox_team_id_idx'],
];

export class JiraOwnTables1771000000000 implements MigrationInterface {
  name = 'JiraOwnTables1771000000000';

  async up(q: QueryRunner): Promise<void> {
    const [{ existing }] = (await q.query(`SELECT to_regclass('jira_integrations') IS NOT NULL AS existing`)) as { existing: boolean }[];
    if (!existing) {
      for (const statement of FRESH) await q.query(statement);
      return;
    }
    await q.query(`
      ALTER TABLE jira_integrations
        DROP CONSTRAINT IF EXISTS jira_integrations_team_id_fkey,
        DROP CONSTRAINT IF EXISTS jira_integrations_connected_by_user_id_fkey`);
    await q.query(`
      ALTER TABLE jira_oauth_states
        DROP CONSTRAINT IF EXISTS jira_oauth_states_team_id_fkey,
        DROP CONSTRAINT IF EXISTS jira_oauth_states_user_id_fkey,
        DROP COLUMN IF EXISTS code_verifier`);
    await q.query('ALTER TABLE notification_outbox RENAME TO jira_notification_outbox');
    for (const [from, to] of OUTBOX_RENAMES) await q.query(`ALTER TABLE jira_notification_outbox RENAME CONSTRAINT ${from} TO ${to}`);
    for (const [from, to] of OUTBOX_INDEX_RENAMES) await q.query(`ALTER INDEX ${from} RENAME TO ${to}`);
  }

  async down(q: QueryRunner): Promise<void> {
    const migrationsTable = q.connection.options.migrationsTableName ?? 'migrations';
    const upgraded = ((await q.query(`SELECT 1 FROM "${migrationsTable}" WHERE name = $1`, [HISTORICAL_FIRST])) as unknown[]).length > 0;
    if (!upgraded) {
      await q.query('DROP TABLE jira_notification_outbox, jira_webhook_events, jira_webhook_registrations, jira_oauth_states, jira_integrations');
      return;
    }
    for (const [from, to] of OUTBOX_INDEX_RENAMES) await q.query(`ALTER INDEX ${to} RENAME TO ${from}`);
    for (const [from, to] of OUTBOX_RENAMES) await q.query(`ALTER TABLE jira_notification_outbox RENAME CONSTRAINT ${to} TO ${from}`);
    await q.query('ALTER TABLE jira_notification_outbox RENAME TO notification_outbox');
    await q.query(`
      ALTER TABLE jira_oauth_states
        ADD COLUMN code_verifier text,
        ADD CONSTRAINT jira_oauth_states_team_id_fkey FOREIGN KEY (team_id) REFERENCES teams(id) ON DELETE CASCADE,
        ADD CONSTRAINT jira_oauth_states_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE`);
    await q.query(`
      ALTER TABLE jira_integrations
        ADD CONSTRAINT jira_integrations_team_id_fkey FOREIGN KEY (team_id) REFERENCES teams(id) ON DELETE CASCADE,
        ADD CONSTRAINT jira_integrations_connected_by_user_id_fkey FOREIGN KEY (connected_by_user_id) REFERENCES users(id) ON DELETE SET NULL`);
  }
}
