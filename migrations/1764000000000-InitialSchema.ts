import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Teams, users and memberships (normally owned by the host product) and the Jira integration
 * tables. `gen_random_uuid()` is core PostgreSQL 13+, so no extension is needed (PGlite has none).
 */
export class InitialSchema1764000000000 implements MigrationInterface {
  name = 'InitialSchema1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE teams (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE users (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        email text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT users_email_key UNIQUE (email)
      )`);
    await q.query(`
      CREATE TABLE team_members (
        team_id uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        role text NOT NULL CONSTRAINT team_members_role_check CHECK (role IN ('owner', 'admin', 'member')),
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (team_id, user_id)
      )`);
    await q.query(`CREATE INDEX team_members_user_id_idx ON team_members (user_id)`);

    await q.query(`
      CREATE TABLE jira_integrations (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        team_id uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
        status text NOT NULL CONSTRAINT jira_integrations_status_check
          CHECK (status IN ('pending_site_selection', 'connected', 'reauthorization_required')),
        cloud_id text,
        site_url text,
        site_name text,
        available_sites jsonb,
        scopes text[] NOT NULL DEFAULT '{}',
        connected_by_user_id uuid REFERENCES users(id) ON DELETE SET NULL,
        atlassian_account_id text,
        atlassian_account_name text,
        access_token text,
        refresh_token text,
        access_token_expires_at timestamptz,
        token_version integer NOT NULL DEFAULT 0,
        connected_at timestamptz,
        last_refreshed_at timestamptz,
        last_error_code text,
        last_error_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT jira_integrations_team_id_key UNIQUE (team_id),
        CONSTRAINT jira_integrations_connected_has_site CHECK (status <> 'connected' OR cloud_id IS NOT NULL)
      )`);
    // The keep-alive job scans connected integrations by when their refresh token was last used.
    await q.query(`
      CREATE INDEX jira_integrations_keepalive_idx
        ON jira_integrations (COALESCE(last_refreshed_at, connected_at))
        WHERE status = 'connected' AND refresh_token IS NOT NULL`);

    await q.query(`
      CREATE TABLE jira_oauth_states (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        state_hash text NOT NULL,
        team_id uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        binding_hash text NOT NULL,
        code_verifier text,
        site_hint text,
        return_to text,
        expires_at timestamptz NOT NULL,
        consumed_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT jira_oauth_states_state_hash_key UNIQUE (state_hash)
      )`);
    await q.query(`CREATE INDEX jira_oauth_states_team_id_idx ON jira_oauth_states (team_id)`);
    await q.query(`CREATE INDEX jira_oauth_states_expires_at_idx ON jira_oauth_states (expires_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE jira_oauth_states`);
    await q.query(`DROP TABLE jira_integrations`);
    await q.query(`DROP TABLE team_members`);
    await q.query(`DROP TABLE users`);
    await q.query(`DROP TABLE teams`);
  }
}
