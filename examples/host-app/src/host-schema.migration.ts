import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The host's own schema, run by the host's DataSource together with jiraConnectMigrations. */
export class HostSchema1766100000000 implements MigrationInterface {
  name = 'HostSchema1766100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL, api_key_hash text NOT NULL UNIQUE)`);
    await q.query(`CREATE TABLE teams (id serial PRIMARY KEY, name text NOT NULL, plan text NOT NULL DEFAULT 'free')`);
    await q.query(`
      CREATE TABLE team_members (
        team_id integer NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
        user_id integer NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        role text NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
        PRIMARY KEY (team_id, user_id)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE team_members`);
    await q.query(`DROP TABLE teams`);
    await q.query(`DROP TABLE users`);
  }
}
