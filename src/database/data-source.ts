import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { migrations } from '../../migrations/index.js';
import { readDatabaseSettings, type DatabaseSettings } from '../config/database.config.js';
import { entities } from './entities.js';
import { pglitePoolFor } from './pglite-pool.js';

interface OpenPglite {
  db: PGlite;
  driver: ReturnType<typeof pglitePoolFor>;
  refs: number;
}

/*
 * One PGlite engine per data directory per process. Two data sources on the same directory (two
 * app instances in one test process, or a CLI next to the app) must share the engine and its
 * session lock, exactly as two processes share one PostgreSQL server.
 */
const engines = new Map<string, OpenPglite>();

function openPglite(dataDir: string): { db: PGlite; driver: OpenPglite['driver']; release: () => Promise<void> } {
  // `memory://` alone is private to the caller; `memory://<name>` is shared by name.
  const key = dataDir === 'memory://' ? `memory://${Math.random()}` : dataDir;
  let entry = engines.get(key);
  if (!entry) {
    const path = dataDir.startsWith('memory://') ? 'memory://' : `${dataDir}/pglite`;
    if (!path.startsWith('memory://')) mkdirSync(path, { recursive: true });
    const db = new PGlite(path);
    entry = { db, driver: pglitePoolFor(db), refs: 0 };
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
        await opened.db.close();
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
      { ...common, url: settings.url, extra: { max: 10, connectionTimeoutMillis: 10_000 } },
      settings,
    );
  }
  const { driver, release } = openPglite(settings.dataDir);
  return new AppDataSource({ ...common, driver }, settings, release);
}
