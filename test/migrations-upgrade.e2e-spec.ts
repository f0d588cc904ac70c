import { randomBytes } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { type INestApplication, Module } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { afterAll, describe, expect, it } from 'vitest';
import { migrations as serverMigrations } from '../migrations/index.js';
import { TokenCipher } from '../src/integrations/jira/common/crypto/token-cipher.js';
import { pglitePoolFor } from '../src/database/pglite-pool.js';
import { jiraConnectEntities, jiraConnectMigrations, JiraIntegrationModule, JiraTokenManager } from '../src/integrations/jira/index.js';

/*
 * Issue 18: the module owns only its `jira_*` tables. A host that embedded the last release ran
 * its migrations (which were the standalone server's: `teams`, `users`, `team_members`,
 * `notification_outbox` and foreign keys into them); after upgrading it runs the new
 * `jiraConnectMigrations`. Every row is kept with its ciphertexts unchanged, the schema of the
 * module's tables is exactly a new host's, and the module reads the token stored before.
 * Always on embedded databases of their own (two at once).
 */
const LAST_RELEASE = serverMigrations.slice(0, serverMigrations.findIndex((m) => m.name === 'JiraOwnTables1771000000000'));
const MODULE_TABLES = ['jira_integrations', 'jira_jobs', 'jira_notification_outbox', 'jira_oauth_states', 'jira_webhook_events', 'jira_webhook_registrations'];

const open = async (db: PGlite, list: unknown[]): Promise<DataSource> => {
  const ds = new DataSource({
    type: 'postgres', driver: pglitePoolFor(db), entities: jiraConnectEntities, migrations: list as never,
    migrationsTransactionMode: 'each', installExtensions: false,
  } as never);
  await ds.initialize();
  return ds;
};

const tablesOf = async (ds: DataSource): Promise<string[]> =>
  ((await ds.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`)) as { table_name: string }[])
    .map((r) => r.table_name);

/**
 * The module's tables as the catalogue describes them: columns, constraints and indexes, order-free.
 * NOT NULL is compared through the columns: PostgreSQL 18 (PGlite) also records it as a named
 * constraint, whose name keeps the table's name from when it was created.
 */
async function schemaOf(ds: DataSource): Promise<unknown> {
  const columns = await ds.query(`
    SELECT table_name, column_name, data_type, udt_name, is_nullable, column_default FROM information_schema.columns
    WHERE table_schema = 'public' AND table_name LIKE 'jira\\_%' ORDER BY table_name, column_name`);
  const constraints = await ds.query(`
    SELECT conrelid::regclass::text AS table_name, conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
    WHERE conrelid::regclass::text LIKE 'jira\\_%' AND contype <> 'n' ORDER BY 1, 2`);
  const indexes = await ds.query(`SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename LIKE 'jira\\_%' ORDER BY 1, 2`);
  return { columns, constraints, indexes };
}

/** Every row of the module's tables, as text (the outbox under either name). */
async function rowsOf(ds: DataSource, outbox: string): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const [name, table] of [['jira_integrations', 'jira_integrations'], ['jira_oauth_states', 'jira_oauth_states'],
    ['jira_webhook_registrations', 'jira_webhook_registrations'], ['jira_webhook_events', 'jira_webhook_events'], ['outbox', outbox]]) {
    out[name] = ((await ds.query(`SELECT to_jsonb(t) - 'code_verifier' AS row FROM ${table} t ORDER BY 1::text`)) as { row: unknown }[])
      .map((r) => JSON.stringify(r.row)).sort();
  }
  return out;
}

describe('upgrading a host from the last release\'s migrations', () => {
  const key = randomBytes(32);
  const cipher = new TokenCipher(key);
  const dbs: PGlite[] = [];
  const apps: INestApplication[] = [];
  afterAll(async () => {
    for (const app of apps) await app.close();
    for (const db of dbs) await db.close();
  });

  it('keeps every row and ciphertext, ends with a new host\'s schema, and reads the old token', async () => {
    const oldDb = new PGlite();
    const freshDb = new PGlite();
    dbs.push(oldDb, freshDb);

    // The last release, with rows in every table of ours.
    const before = await open(oldDb, LAST_RELEASE);
    await before.runMigrations();
    const teamId = 'team-upgrade-1';
    const accessToken = `at-${randomBytes(12).toString('hex')}`;
    await before.query(`INSERT INTO teams (id, name) VALUES ($1, 'Acme')`, [teamId]);
    await before.query(`INSERT INTO users (id, email) VALUES ('user-1', 'a@example.test')`);
    await before.query(`
      INSERT INTO jira_integrations (team_id, status, cloud_id, site_url, scopes, connected_by_user_id, access_token, refresh_token, access_token_expires_at, connected_at, last_refreshed_at)
      VALUES ($1, 'connected', 'cloud-1', 'https://acme.atlassian.net', '{read:jira-work,offline_access}', 'user-1', $2, $3, now() + interval '1 hour', now(), now())`,
    [teamId, cipher.encryptForTeam(accessToken, 'access_token', teamId), cipher.encryptForTeam('rt-old', 'refresh_token', teamId)]);
    await before.query(`INSERT INTO jira_oauth_states (state_hash, team_id, user_id, binding_hash, expires_at) VALUES ('s', $1, 'user-1', 'b', now() + interval '10 minutes')`, [teamId]);
    await before.query(`INSERT INTO jira_webhook_registrations (team_id, cloud_id, state, next_check_at) VALUES ($1, 'cloud-1', 'active', now())`, [teamId]);
    await before.query(`INSERT INTO jira_webhook_events (team_id, cloud_id, delivery_id, webhook_event, payload, next_attempt_at, received_at) VALUES ($1, 'cloud-1', 'd-1', 'jira:issue_created', '{}', now(), now())`, [teamId]);
    await before.query(`INSERT INTO notification_outbox (type, team_id, occurred_at, next_attempt_at) VALUES ('jira.connected', $1, now(), now())`, [teamId]);
    const rowsBefore = await rowsOf(before, 'notification_outbox');
    await before.destroy();

    // The host upgrades the package: its DataSource now lists the new jiraConnectMigrations.
    const upgraded = await open(oldDb, jiraConnectMigrations);
    expect((await upgraded.runMigrations()).map((m) => m.name)).toEqual(['JiraOwnTables1771000000000', 'KeepAliveIndex1772000000000', 'JobTable1773000000000']);
    expect(await rowsOf(upgraded, 'jira_notification_outbox')).toEqual(rowsBefore);
    expect(Object.values(rowsBefore).every((rows) => rows.length === 1)).toBe(true);

    // A new host gets the module's tables and nothing else, in the same shape.
    const fresh = await open(freshDb, jiraConnectMigrations);
    await fresh.runMigrations();
    expect(await tablesOf(fresh)).toEqual([...MODULE_TABLES, 'migrations'].sort());
    expect(await schemaOf(upgraded)).toEqual(await schemaOf(fresh));
    expect(((await fresh.query(`SELECT count(*)::int AS n FROM pg_constraint WHERE contype = 'f' AND confrelid::regclass::text NOT LIKE 'jira\\_%'`)) as { n: number }[])[0].n).toBe(0);
    await fresh.destroy();

    // And the module, on the upgraded database, reads the token stored before the upgrade.
    @Module({
      imports: [
        TypeOrmModule.forRootAsync({ useFactory: () => ({}), dataSourceFactory: async () => upgraded }),
        EventEmitterModule.forRoot(),
        JiraIntegrationModule.forRoot({
          atlassian: { clientId: 'c', clientSecret: 's', redirectUri: 'http://127.0.0.1/api/integrations/jira/oauth/callback', authBaseUrl: 'http://127.0.0.1:9', apiBaseUrl: 'http://127.0.0.1:9' },
          encryption: { currentKey: key },
          currentUser: () => null,
        }),
      ],
    })
    class HostModule {}
    const app = await (await Test.createTestingModule({ imports: [HostModule] }).compile()).createNestApplication({ logger: false }).init();
    apps.push(app);
    const credentials = await app.get(JiraTokenManager).getCredentials(teamId);
    expect(credentials.accessToken).toBe(accessToken);
    expect(credentials.cloudId).toBe('cloud-1');
  }, 120_000);
});
