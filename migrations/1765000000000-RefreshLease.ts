import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The refresh lease (issue 8): who may refresh a row, until when, and a durable "a refresh of
 * token version N was sent to Atlassian at <since>" marker, so an interrupted refresh is finished
 * by the recovery sweep inside Atlassian's 10-minute reuse leeway.
 */
export class RefreshLease1765000000000 implements MigrationInterface {
  name = 'RefreshLease1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE jira_integrations
        ADD COLUMN refresh_lease_owner text,
        ADD COLUMN refresh_lease_expires_at timestamptz,
        ADD COLUMN refresh_in_flight_version integer,
        ADD COLUMN refresh_in_flight_since timestamptz`);
    // The recovery sweep's scan: only rows with a refresh in flight.
    await q.query(`CREATE INDEX jira_integrations_refresh_in_flight_idx ON jira_integrations (refresh_lease_expires_at)
      WHERE refresh_in_flight_version IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX IF EXISTS jira_integrations_refresh_in_flight_idx');
    await q.query(`
      ALTER TABLE jira_integrations
        DROP COLUMN refresh_in_flight_since,
        DROP COLUMN refresh_in_flight_version,
        DROP COLUMN refresh_lease_expires_at,
        DROP COLUMN refresh_lease_owner`);
  }
}
