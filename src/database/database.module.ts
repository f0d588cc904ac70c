import { Global, Module } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { databaseConfig, type DatabaseSettings } from '../config/database.config.js';
import { createDataSource, EmbeddedDatabaseLockedError } from './data-source.js';

/** TypeORM retries a failed connection (10 times, 3 s apart) only when waiting can help. */
export const isWorthRetrying = (err: unknown): boolean => !(err instanceof EmbeddedDatabaseLockedError);

@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      // Options are built in createDataSource (shared with the CLI), from the validated config.
      inject: [databaseConfig.KEY],
      // Retrying helps a PostgreSQL server that is still starting; another process holding the
      // embedded database will not let go within seconds, so that fails at once, with one message.
      useFactory: (settings: ConfigType<typeof databaseConfig>) =>
        ({ settings, toRetry: isWorthRetrying }) as never,
      dataSourceFactory: async (options) => {
        const ds = createDataSource((options as unknown as { settings: DatabaseSettings }).settings);
        await ds.initialize();
        // The embedded database belongs to this process, so it keeps its own schema current.
        // A shared PostgreSQL is migrated explicitly (npm run migration:run) before deploys.
        if (ds.settings.kind === 'pglite') await ds.runMigrations();
        return ds;
      },
    }),
  ],
})
export class DatabaseModule {}
