import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What a connection needs once it outlives a moment: when its consent expires (Atlassian: 365 days
 * from consent, whatever the refreshes) and which `reconsent_due` notice went out; when the
 * connecting user left the team; and the personal-data report's bookkeeping for the stored
 * Atlassian account (when we last refreshed it, when we last reported it, and the report's lease).
 */
export class ConnectionLifecycle1769500000000 implements MigrationInterface {
  name = 'ConnectionLifecycle1769500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE jira_integrations
        ADD COLUMN consented_at timestamptz,
        ADD COLUMN reconsent_notice_days integer,
        ADD COLUMN connector_left_at timestamptz,
        ADD COLUMN account_updated_at timestamptz,
        ADD COLUMN account_reported_at timestamptz,
        ADD COLUMN account_report_lease_until timestamptz`);
    // Rows from before: the last connect is the best record of the consent we have.
    await q.query('UPDATE jira_integrations SET consented_at = connected_at');
    await q.query('UPDATE jira_integrations SET account_updated_at = connected_at WHERE atlassian_account_id IS NOT NULL');
    await q.query('CREATE INDEX jira_integrations_consented_at_idx ON jira_integrations (consented_at)');
    await q.query(`CREATE INDEX jira_integrations_account_id_idx ON jira_integrations (atlassian_account_id)
                    WHERE atlassian_account_id IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX jira_integrations_account_id_idx');
    await q.query('DROP INDEX jira_integrations_consented_at_idx');
    await q.query(`
      ALTER TABLE jira_integrations
        DROP COLUMN consented_at, DROP COLUMN reconsent_notice_days, DROP COLUMN connector_left_at,
        DROP COLUMN account_updated_at, DROP COLUMN account_reported_at, DROP COLUMN account_report_lease_until`);
  }
}
