import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Service-account connections (OAuth 2.0 client credentials): what kind of connection a row is,
 * and the sealed client id and secret it mints its tokens with (bound to the column and the team,
 * like the tokens). One integration per team either way: a service account replaces a 3LO grant
 * and is replaced by one.
 */
export class ServiceAccounts1770000000000 implements MigrationInterface {
  name = 'ServiceAccounts1770000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE jira_integrations
        ADD COLUMN connection_type text NOT NULL DEFAULT 'oauth',
        ADD COLUMN client_credential text,
        ADD CONSTRAINT jira_integrations_connection_type_check CHECK (connection_type IN ('oauth', 'service_account'))`);
  }

  async down(q: QueryRunner): Promise<void> {
    // A service account cannot become a 3LO grant: those rows go (their teams connect again).
    await q.query(`DELETE FROM jira_integrations WHERE connection_type = 'service_account'`);
    await q.query(`
      ALTER TABLE jira_integrations
        DROP CONSTRAINT jira_integrations_connection_type_check,
        DROP COLUMN client_credential,
        DROP COLUMN connection_type`);
  }
}
