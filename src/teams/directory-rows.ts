import type { DataSource, EntityManager } from 'typeorm';

/**
 * The integration tables reference `teams` and `users` (foreign keys, so deleting a team deletes
 * its integration). When membership lives elsewhere (a host application's TeamAccessPolicy, token
 * claims, the product over HTTP) the team and the user may have no row here yet: this adds bare
 * ones (the team's name is its id) before the first row that references them. One statement.
 */
export async function ensureTeamAndUserRows(db: DataSource | EntityManager, teamId: string, userId: string): Promise<void> {
  await db.query(
    `WITH team AS (INSERT INTO teams (id, name) VALUES ($1, $1) ON CONFLICT (id) DO NOTHING)
     INSERT INTO users (id) VALUES ($2) ON CONFLICT (id) DO NOTHING`,
    [teamId, userId],
  );
}
