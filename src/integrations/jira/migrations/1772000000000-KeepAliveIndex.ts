import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The keep-alive asks for `status IN ('connected', 'pending_site_selection')` (a team waiting for
 * its site choice holds a refresh token too), but its partial index only covered `status =
 * 'connected'`: PostgreSQL uses a partial index only when the query implies its predicate, so the
 * hourly sweep read all of jira_integrations (a parallel sequential scan at 100,000 teams, bench
 * `scale-sweep-plan`). The index now has the query's own predicate.
 */
export class KeepAliveIndex1772000000000 implements MigrationInterface {
  name = 'KeepAliveIndex1772000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX IF EXISTS jira_integrations_keepalive_idx');
    await q.query(`CREATE INDEX jira_integrations_keepalive_idx ON jira_integrations (COALESCE(last_refreshed_at, connected_at))
      WHERE status IN ('connected', 'pending_site_selection') AND refresh_token IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX IF EXISTS jira_integrations_keepalive_idx');
    await q.query(`CREATE INDEX jira_integrations_keepalive_idx ON jira_integrations (COALESCE(last_refreshed_at, connected_at))
      WHERE status = 'connected' AND refresh_token IS NOT NULL`);
  }
}
