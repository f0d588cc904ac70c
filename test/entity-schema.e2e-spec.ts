import { PGlite } from '@electric-sql/pglite';
import { DataSource } from 'typeorm';
import { afterAll, describe, expect, it } from 'vitest';
import { readDatabaseSettings } from '../src/config/database.config.js';
import { createDataSource } from '../src/database/data-source.js';
import { pglitePoolFor } from '../src/database/pglite-pool.js';
import { jiraConnectEntities, jiraConnectMigrations } from '../src/integrations/jira/index.js';

/*
 * The entities are the schema's truth (issue 18, item 9): after the migrations, TypeORM's own
 * schema builder must find nothing to change. A column, type, default, nullability, index, check
 * or key that an entity and the migrations disagree on shows up here as the SQL TypeORM would run.
 */
async function drift(ds: DataSource): Promise<string[]> {
  const sql = await ds.driver.createSchemaBuilder().log();
  return sql.upQueries.map((q) => q.query);
}

describe('entities match the migrated schema', () => {
  const closers: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const close of closers.reverse()) await close();
  });

  it('the module\'s entities (jiraConnectEntities) on a new host\'s database migrated with jiraConnectMigrations', async () => {
    const db = new PGlite('memory://');
    closers.push(() => db.close());
    const ds = new DataSource({
      type: 'postgres', driver: pglitePoolFor(db), entities: jiraConnectEntities, migrations: jiraConnectMigrations,
      migrationsTransactionMode: 'each', installExtensions: false,
    } as never);
    await ds.initialize();
    closers.push(() => ds.destroy());
    await ds.runMigrations();
    expect(await drift(ds)).toEqual([]);
  });

  it('the standalone server\'s entities on its database migrated with its migrations', async () => {
    const ds = createDataSource(readDatabaseSettings());
    await ds.initialize();
    closers.push(() => ds.destroy());
    await ds.runMigrations();
    expect(ds.entityMetadatas.map((m) => m.tableName).sort()).toEqual(
      ['jira_integrations', 'jira_jobs', 'jira_notification_outbox', 'jira_oauth_states', 'jira_webhook_events', 'jira_webhook_registrations', 'team_members', 'teams', 'users'],
    );
    expect(await drift(ds)).toEqual([]);
  });
});
