import type { MigrationInterface, QueryRunner } from 'typeorm';

/** A newer authorize for the team replaces a pending flow: its callback then fails as superseded. */
export class OAuthStateSuperseded1767000000000 implements MigrationInterface {
  name = 'OAuthStateSuperseded1767000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE jira_oauth_states ADD COLUMN superseded_at timestamptz');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE jira_oauth_states DROP COLUMN superseded_at');
  }
}
