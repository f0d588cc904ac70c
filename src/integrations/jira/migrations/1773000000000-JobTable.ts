import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `jira_jobs`: the periodic jobs of the one leased job runner (jobs/job-runner.ts). One row per job
 * name; the runner claims a due row under `FOR UPDATE SKIP LOCKED` with a lease, so each sweep runs
 * once per period across a fleet instead of on every instance. A few rows: no index beyond the key.
 */
export class JobTable1773000000000 implements MigrationInterface {
  name = 'JobTable1773000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE jira_jobs (
      name text PRIMARY KEY,
      run_at timestamptz NOT NULL,
      locked_until timestamptz,
      attempts integer NOT NULL DEFAULT 0,
      last_error text,
      last_finished_at timestamptz
    )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE IF EXISTS jira_jobs');
  }
}
