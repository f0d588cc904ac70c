import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `jira_oauth_states.code_verifier` was never written: Atlassian's 3LO flow takes no PKCE verifier,
 * and the connect flow never stored one. It had an encrypted transformer, a key-rotation entry and
 * a start-up key check all the same; the column goes with them. A pending flow lives ten minutes
 * and none ever held a value, so nothing is lost.
 */
export class DropCodeVerifier1771000000000 implements MigrationInterface {
  name = 'DropCodeVerifier1771000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE jira_oauth_states DROP COLUMN code_verifier');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE jira_oauth_states ADD COLUMN code_verifier text');
  }
}
