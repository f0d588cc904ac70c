import { Global, Module } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { databaseConfig, type DatabaseSettings } from '../config/database.config.js';
import { DEFAULT_CONNECT_TIMEOUT_MS } from './bounded-pool.js';
import { classifyConnectFailure, DatabaseRefusedError, describeDatabase } from './connect-failure.js';
import { createDataSource, EmbeddedDatabaseLockedError, type AppDataSource } from './data-source.js';

/** TypeORM's defaults, spelled out because the log names them. */
const RETRY_ATTEMPTS = 10;
const RETRY_DELAY_MS = 3000;

/** TypeORM retries a failed connection only when waiting can help. */
export const isWorthRetrying = (err: unknown): boolean =>
  !(err instanceof EmbeddedDatabaseLockedError || err instanceof DatabaseRefusedError);

/**
 * Opens the data source. A PostgreSQL (or pooler) refusal becomes a DatabaseRefusedError, which
 * stops start-up at once with what to do; a database that does not answer is named on each
 * attempt, so the first warning comes within the connect timeout, not after all the retries.
 */
export async function openDataSource(settings: DatabaseSettings): Promise<AppDataSource> {
  const ds = createDataSource(settings);
  const started = Date.now();
  try {
    await ds.initialize();
  } catch (err) {
    await ds.destroy().catch(() => undefined);
    if (settings.kind !== 'postgres') throw err;
    const failure = classifyConnectFailure(err, `Database ${describeDatabase(settings.url)}`, settings.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, Date.now() - started);
    if (failure.kind === 'refused') throw new DatabaseRefusedError(failure.message, { cause: err });
    // A process warning, not the app logger: that one is buffered until the app has started.
    process.emitWarning(`${failure.message} Retrying every ${RETRY_DELAY_MS / 1000} s, ${RETRY_ATTEMPTS} attempts in all.`,
      { code: 'JIRA_CONNECT_DATABASE_UNREACHABLE' });
    throw err;
  }
  // The embedded database belongs to this process, so it keeps its own schema current.
  // A shared PostgreSQL is migrated explicitly (npm run migration:run) before deploys.
  if (ds.settings.kind === 'pglite') await ds.runMigrations();
  return ds;
}

@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      // Options are built in createDataSource (shared with the CLI), from the validated config.
      inject: [databaseConfig.KEY],
      // Retrying helps a PostgreSQL server that is still starting; a refusal or another process
      // holding the embedded database will not go away within seconds, so those fail at once.
      useFactory: (settings: ConfigType<typeof databaseConfig>) =>
        ({ settings, toRetry: isWorthRetrying, retryAttempts: RETRY_ATTEMPTS, retryDelay: RETRY_DELAY_MS }) as never,
      dataSourceFactory: (options) => openDataSource((options as unknown as { settings: DatabaseSettings }).settings),
    }),
  ],
})
export class DatabaseModule {}
