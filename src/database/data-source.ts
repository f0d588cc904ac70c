import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { migrations } from '../../migrations/index.js';
import { readDatabaseSettings, type DatabaseSettings } from '../config/database.config.js';
import { boundedPoolOptions, DEFAULT_CONNECT_TIMEOUT_MS } from './bounded-pool.js';
import { entities } from './entities.js';
import { pglitePoolFor } from './pglite-pool.js';

interface OpenPglite {
  db: PGlite;
  driver: ReturnType<typeof pglitePoolFor>;
  refs: number;
  unlock: () => void;
}

/*
 * One PGlite engine per data directory per process. Two data sources on the same directory (two
 * app instances in one test process, or a CLI next to the app) must share the engine and its
 * session lock, exactly as two processes share one PostgreSQL server.
 */
const engines = new Map<string, OpenPglite>();

/** Another live process has the embedded database open (PGlite is single-process). */
export class EmbeddedDatabaseLockedError extends Error {
  constructor(dataDir: string, pid: number) {
    super(
      `The embedded database in ${dataDir} is in use by another process (pid ${pid}, probably \`npm start\`). `
        + 'PGlite is single-process: stop that process and run this again, or set DATABASE_URL to a PostgreSQL '
        + `database that both can share. (If pid ${pid} is not jira-connect, delete ${join(dataDir, 'pglite.lock')}.)`,
    );
    this.name = 'EmbeddedDatabaseLockedError';
  }
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * A pid file next to the data files. Two processes opening the same PGlite directory would each
 * cache pages and overwrite the other's writes, so the second one is refused with a clear
 * message. A lock left by a process that died is taken over.
 */
function lockDataDir(dataDir: string): () => void {
  const file = join(dataDir, 'pglite.lock');
  for (;;) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      return () => {
        try {
          if (readFileSync(file, 'utf8') === String(process.pid)) unlinkSync(file);
        } catch {
          /* already gone */
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number(readFileSync(file, 'utf8'));
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
      throw new EmbeddedDatabaseLockedError(dataDir, holder);
    }
    unlinkSync(file); // stale: its process is gone
  }
}

function openPglite(dataDir: string): { db: PGlite; driver: OpenPglite['driver']; release: () => Promise<void> } {
  // `memory://` alone is private to the caller; `memory://<name>` is shared by name.
  const key = dataDir === 'memory://' ? `memory://${Math.random()}` : dataDir;
  let entry = engines.get(key);
  if (!entry) {
    const inMemory = dataDir.startsWith('memory://');
    let unlock = (): void => undefined;
    if (!inMemory) {
      mkdirSync(join(dataDir, 'pglite'), { recursive: true });
      unlock = lockDataDir(dataDir);
    }
    const db = new PGlite(inMemory ? 'memory://' : join(dataDir, 'pglite'));
    entry = { db, driver: pglitePoolFor(db), refs: 0, unlock };
    engines.set(key, entry);
  }
  entry.refs += 1;
  const opened = entry;
  let released = false;
  return {
    db: opened.db,
    driver: opened.driver,
    release: async () => {
      if (released) return;
      released = true;
      opened.refs -= 1;
      if (opened.refs === 0) {
        engines.delete(key);
        try {
          await opened.db.close();
        } finally {
          opened.unlock();
        }
      }
    },
  };
}

/** A DataSource that also releases the embedded engine it opened. */
export class AppDataSource extends DataSource {
  constructor(
    options: DataSourceOptions,
    readonly settings: DatabaseSettings,
    private readonly releaseEngine?: () => Promise<void>,
  ) {
    super(options);
  }

  override async destroy(): Promise<void> {
    if (this.isInitialized) await super.destroy();
    await this.releaseEngine?.();
  }
}

/**
 * The one place database options are defined, for the app, the tests and the TypeORM CLI.
 * PostgreSQL when DATABASE_URL is set; otherwise PGlite (real Postgres in WASM) under DATA_DIR.
 * Schema changes only ever come from migrations.
 */
export function createDataSource(settings: DatabaseSettings = readDatabaseSettings()): AppDataSource {
  const common = {
    type: 'postgres' as const,
    entities,
    migrations,
    synchronize: false,
    migrationsTransactionMode: 'each' as const,
    // No uuid-ossp and friends: PGlite ships without them and gen_random_uuid() is core.
    installExtensions: false,
  };
  if (settings.kind === 'postgres') {
    return new AppDataSource(
      { ...common, url: settings.url, extra: { max: settings.poolSize ?? 10, ...boundedPoolOptions(settings) } },
      settings,
    );
  }
  const { driver, release } = openPglite(settings.dataDir);
  // The single session is the pool: a query queued behind it gives up after the connect timeout.
  const extra = { connectionTimeoutMillis: settings.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS };
  return new AppDataSource({ ...common, driver, extra }, settings, release);
}
