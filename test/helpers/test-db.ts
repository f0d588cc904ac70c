import { randomBytes } from 'node:crypto';
import pg from 'pg';

/*
 * PostgreSQL mode (DATABASE_URL set): the global setup migrates `<db>_tpl` once; each test file
 * then clones it into a private database, so files running in parallel never see each other's
 * rows (the keep-alive job, for one, scans the whole table). PGlite mode: each file gets a named
 * in-memory engine that every app instance in that file shares.
 *
 * TEST_DATABASE_ADMIN_URL (optional): where databases are created, migrated, cloned and dropped,
 * e.g. PostgreSQL directly while DATABASE_URL goes through a transaction pooler (a pooler's idle
 * server connection to the template would make CREATE DATABASE … TEMPLATE fail). Each file's
 * DATABASE_URL keeps its own host and port and only changes the database name.
 */

/** DATABASE_URL, or TEST_DATABASE_ADMIN_URL for creating and dropping databases. */
const adminUrlFor = (url: string): string => process.env.TEST_DATABASE_ADMIN_URL || url;

const TEMPLATE_SUFFIX = '_tpl';

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1)) || 'postgres';
}

async function admin<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: withDatabase(url, 'postgres') });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const quote = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** Runs every migration on the PostgreSQL database at `url`. */
export async function migrateDatabase(url: string): Promise<void> {
  // Imported here, not at the top: test/setup.ts loads this file in every worker, unit specs too.
  const { createDataSource } = await import('../../src/database/data-source.js');
  const ds = createDataSource({ kind: 'postgres', url, dataDir: 'memory://' });
  await ds.initialize();
  try {
    await ds.runMigrations();
  } finally {
    await ds.destroy();
  }
}

export async function prepareTemplateDatabase(): Promise<() => Promise<void>> {
  const url = process.env.DATABASE_URL;
  if (!url) return async () => undefined;
  const base = databaseName(url);
  const template = base + TEMPLATE_SUFFIX;
  const adminUrl = adminUrlFor(url);
  await admin(adminUrl, async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${quote(template)} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${quote(template)}`);
  });
  // Migrations go to PostgreSQL directly, as in production (docs/operations-poolers.md).
  await migrateDatabase(withDatabase(adminUrl, template));
  process.env.JC_TEST_TEMPLATE_URL = withDatabase(adminUrl, template);
  return async () => {
    await admin(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${quote(template)} WITH (FORCE)`));
  };
}

export interface FileDatabase {
  drop(): Promise<void>;
}

/** Points this test file's DATABASE_URL (or DATA_DIR) at a database of its own. */
export async function createFileDatabase(): Promise<FileDatabase> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    process.env.DATA_DIR = `memory://file-${randomBytes(5).toString('hex')}`;
    return { drop: async () => undefined };
  }
  const clone = await cloneTemplateDatabase(url);
  process.env.DATABASE_URL = clone.url;
  return clone;
}

/**
 * Another migrated database cloned from the run's template (PostgreSQL only): for a file that
 * needs a second app on a database of its own. `url` is any database of the run (the file's).
 */
export async function cloneTemplateDatabase(url: string): Promise<FileDatabase & { url: string }> {
  const suffix = randomBytes(5).toString('hex');
  const base = databaseName(url).replace(/_tpl$/, '').replace(/_f[0-9a-f]{10}$/, '');
  const name = `${base}_f${suffix}`;
  const adminUrl = adminUrlFor(url);
  await admin(adminUrl, async (c) => {
    for (let attempt = 0; ; attempt++) {
      try {
        await c.query(`CREATE DATABASE ${quote(name)} TEMPLATE ${quote(base + TEMPLATE_SUFFIX)}`);
        return;
      } catch (err) {
        // Two files cloning the template at the same instant: retry briefly.
        if (attempt >= 20 || !/being accessed by other users/.test(String(err))) throw err;
        await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
      }
    }
  });
  return {
    url: withDatabase(url, name),
    drop: () => admin(adminUrl, async (c) => void (await c.query(`DROP DATABASE IF EXISTS ${quote(name)} WITH (FORCE)`))),
  };
}

export const usingPostgres = (): boolean => Boolean(process.env.DATABASE_URL);
