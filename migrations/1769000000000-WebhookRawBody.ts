import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A delivery whose JSON jsonb cannot hold as it is (`\u0000`, lone surrogates, bytes that are
 * not UTF-8) is stored with U+FFFD in `payload`, and its exact bytes in `raw_body`; null for
 * every other delivery, which is stored as it came.
 */
export class WebhookRawBody1769000000000 implements MigrationInterface {
  name = 'WebhookRawBody1769000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE jira_webhook_events ADD COLUMN raw_body bytea');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE jira_webhook_events DROP COLUMN raw_body');
  }
}
