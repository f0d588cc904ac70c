import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDatabaseSettings } from '../src/config/database.config.js';
import { createDataSource, type AppDataSource } from '../src/database/data-source.js';

const TABLES = ['jira_integrations', 'jira_oauth_states', 'team_members', 'teams', 'users'];

describe('migrations', () => {
  let ds: AppDataSource;
  beforeAll(async () => {
    ds = createDataSource(readDatabaseSettings());
    await ds.initialize();
  });
  afterAll(async () => {
    await ds.destroy();
  });

  const tables = async (): Promise<string[]> =>
    (await ds.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ANY($1) ORDER BY 1`, [TABLES]))
      .map((r: { table_name: string }) => r.table_name);

  it('apply, revert to nothing, and apply again', async () => {
    await ds.runMigrations();
    expect(await tables()).toEqual([...TABLES].sort());
    while ((await ds.query('SELECT count(*)::int AS n FROM migrations'))[0].n > 0) await ds.undoLastMigration();
    expect(await tables()).toEqual([]);
    await ds.runMigrations();
    expect(await tables()).toEqual([...TABLES].sort());
  });

  it('creates the constraints the design relies on', async () => {
    const constraints = (await ds.query(`
      SELECT conname, confdeltype FROM pg_constraint
      WHERE conrelid IN ('jira_integrations'::regclass, 'jira_oauth_states'::regclass, 'team_members'::regclass)`))
      .map((r: { conname: string; confdeltype: string }) => `${r.conname}:${r.confdeltype}`);
    expect(constraints).toEqual(expect.arrayContaining([
      'jira_integrations_team_id_key: ',
      'jira_integrations_team_id_fkey:c',
      'jira_oauth_states_team_id_fkey:c',
      'jira_oauth_states_state_hash_key: ',
      'team_members_team_id_fkey:c',
    ]));
  });
});
