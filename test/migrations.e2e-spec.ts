import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDatabaseSettings } from '../src/config/database.config.js';
import { createDataSource, type AppDataSource } from '../src/database/data-source.js';

const TABLES = ['jira_integrations', 'jira_jobs', 'jira_notification_outbox', 'jira_oauth_states', 'jira_webhook_events', 'jira_webhook_registrations', 'team_members', 'teams', 'users'];

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
      'jira_oauth_states_state_hash_key: ',
      'team_members_team_id_fkey:c',
    ]));
    // The module's tables reference nothing of the server's (JiraOwnTables): a host's own `teams` cannot clash.
    expect(constraints.filter((c: string) => /^jira_.*_fkey:/.test(c))).toEqual([]);
  });

  const columnType = async (table: string, column: string): Promise<string> =>
    (await ds.query(`SELECT data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2`, [table, column]))[0].data_type;

  /** Reverts the migrations after `name`, then `name` itself. */
  const revert = async (name: string): Promise<void> => {
    while ((await ds.query('SELECT name FROM migrations ORDER BY id DESC LIMIT 1'))[0]?.name !== name) await ds.undoLastMigration();
    await ds.undoLastMigration();
  };

  it('OpaqueIds keeps every row and foreign key, and reverts only while every id is a UUID', async () => {
    await revert('OpaqueIds1766000000000');
    expect(await columnType('teams', 'id')).toBe('uuid');
    const [team] = await ds.query(`INSERT INTO teams (name) VALUES ('t') RETURNING id`);
    const [user] = await ds.query(`INSERT INTO users (email) VALUES ('u@example.test') RETURNING id`);
    await ds.query(`INSERT INTO team_members (team_id, user_id, role) VALUES ($1, $2, 'owner')`, [team.id, user.id]);
    await ds.query(`INSERT INTO jira_integrations (team_id, status, connected_by_user_id) VALUES ($1, 'pending_site_selection', $2)`, [team.id, user.id]);
    await ds.query(`INSERT INTO jira_oauth_states (state_hash, team_id, user_id, binding_hash, expires_at) VALUES ('h', $1, $2, 'b', now())`, [team.id, user.id]);

    await ds.runMigrations();
    for (const [t, c] of [['teams', 'id'], ['users', 'id'], ['team_members', 'team_id'], ['team_members', 'user_id'], ['jira_integrations', 'team_id'],
      ['jira_integrations', 'connected_by_user_id'], ['jira_oauth_states', 'team_id'], ['jira_oauth_states', 'user_id']]) {
      expect(await columnType(t, c), `${t}.${c}`).toBe('text');
    }
    // Integration ids are ours and stay uuid.
    expect(await columnType('jira_integrations', 'id')).toBe('uuid');
    expect((await ds.query('SELECT team_id, connected_by_user_id FROM jira_integrations'))[0]).toEqual({ team_id: team.id, connected_by_user_id: user.id });
    expect((await ds.query('SELECT count(*)::int AS n FROM team_members'))[0].n).toBe(1);

    // Opaque ids fit; the server's foreign keys still hold and still cascade.
    await ds.query(`INSERT INTO teams (id, name) VALUES ('42', 'n'), ('org_2x', 'o')`);
    await ds.query(`INSERT INTO users (id) VALUES ('auth0|abc')`);
    await ds.query(`INSERT INTO team_members (team_id, user_id, role) VALUES ('42', 'auth0|abc', 'admin')`);
    await expect(ds.query(`INSERT INTO team_members (team_id, user_id, role) VALUES ('nope', 'auth0|abc', 'admin')`)).rejects.toThrow(/foreign key/);
    await expect(ds.query(`INSERT INTO teams (id, name) VALUES ($1, 'x')`, ['x'.repeat(256)])).rejects.toThrow(/teams_id_length/);
    await ds.query(`DELETE FROM teams WHERE id = $1`, [team.id]);
    expect((await ds.query('SELECT count(*)::int AS n FROM team_members WHERE team_id = $1', [team.id]))[0].n).toBe(0);
    // The module's rows no longer hang off `teams` (JiraOwnTables): the admin API's team deletion removes them itself.
    expect((await ds.query('SELECT count(*)::int AS n FROM jira_integrations WHERE team_id = $1', [team.id]))[0].n).toBe(1);
    await ds.query('DELETE FROM jira_oauth_states WHERE team_id = $1', [team.id]);
    await ds.query('DELETE FROM jira_integrations WHERE team_id = $1', [team.id]);

    await expect(revert('OpaqueIds1766000000000')).rejects.toThrow(/not UUIDs/);
    expect(await columnType('teams', 'id')).toBe('text');
    await ds.query(`DELETE FROM teams WHERE id IN ('42', 'org_2x')`);
    await ds.query(`DELETE FROM users WHERE id = 'auth0|abc'`);
    await revert('OpaqueIds1766000000000');
    expect(await columnType('team_members', 'user_id')).toBe('uuid');
    expect((await ds.query(`SELECT email FROM users WHERE id = $1`, [user.id]))[0].email).toBe('u@example.test');
    await ds.runMigrations();
  });

  it('ServiceAccounts: existing rows become oauth, only the two connection types fit, and a revert drops service-account rows', async () => {
    await revert('ServiceAccounts1770000000000');
    const [team] = await ds.query(`INSERT INTO teams (name) VALUES ('sa') RETURNING id`);
    const [other] = await ds.query(`INSERT INTO teams (name) VALUES ('sa-2') RETURNING id`);
    await ds.query(`INSERT INTO jira_integrations (team_id, status, cloud_id) VALUES ($1, 'connected', 'c1')`, [team.id]);
    await ds.runMigrations();
    expect((await ds.query('SELECT connection_type, client_credential FROM jira_integrations WHERE team_id = $1', [team.id]))[0])
      .toEqual({ connection_type: 'oauth', client_credential: null });
    await expect(ds.query(`UPDATE jira_integrations SET connection_type = 'api_token' WHERE team_id = $1`, [team.id]))
      .rejects.toThrow(/jira_integrations_connection_type_check/);
    await ds.query(`INSERT INTO jira_integrations (team_id, status, cloud_id, connection_type, client_credential) VALUES ($1, 'connected', 'c2', 'service_account', 'v2:k:sealed')`,
      [other.id]);

    await revert('ServiceAccounts1770000000000');
    expect((await ds.query('SELECT team_id FROM jira_integrations WHERE team_id = ANY($1::text[])', [[team.id, other.id]])).map((r: { team_id: string }) => r.team_id))
      .toEqual([team.id]);
    expect(await ds.query(`SELECT 1 FROM information_schema.columns WHERE table_name = 'jira_integrations' AND column_name = 'client_credential'`)).toEqual([]);
    await ds.runMigrations();
    await ds.query('DELETE FROM teams WHERE id = ANY($1::text[])', [[team.id, other.id]]);
  });
});
