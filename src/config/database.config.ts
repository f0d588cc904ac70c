import { registerAs } from '@nestjs/config';
import { IsIn, IsOptional, Matches } from 'class-validator';
import { RuntimeEnv } from './runtime.env.js';
import { EnvValidationError, validateEnv } from './validate-env.js';

export class DatabaseEnv extends RuntimeEnv {
  /** Unset: the embedded PGlite database under DATA_DIR. */
  @IsOptional()
  @Matches(/^postgres(ql)?:\/\/\S+$/, {
    message: 'DATABASE_URL must be a postgres:// or postgresql:// connection URL',
  })
  DATABASE_URL?: string;

  /** Production runs on PostgreSQL; `true` accepts the single-process embedded database anyway. */
  @IsIn(['true', 'false'], { message: 'ALLOW_EMBEDDED_DATABASE must be true or false' })
  ALLOW_EMBEDDED_DATABASE: string = 'false';
}

export interface DatabaseSettings {
  /** `postgres` when DATABASE_URL is set, otherwise the embedded PGlite engine. */
  kind: 'postgres' | 'pglite';
  url?: string;
  /** PGlite data directory; `memory://` keeps everything in memory. */
  dataDir: string;
}

export function readDatabaseSettings(env: NodeJS.ProcessEnv = process.env): DatabaseSettings {
  const parsed = validateEnv(DatabaseEnv, env);
  if (!parsed.DATABASE_URL && parsed.NODE_ENV === 'production' && parsed.ALLOW_EMBEDDED_DATABASE !== 'true') {
    throw new EnvValidationError([
      'DATABASE_URL is required in production: the embedded database (PGlite) is single-process and lives on '
        + 'local disk. Set DATABASE_URL=postgres://..., or ALLOW_EMBEDDED_DATABASE=true to run on it anyway',
    ]);
  }
  return parsed.DATABASE_URL
    ? { kind: 'postgres', url: parsed.DATABASE_URL, dataDir: parsed.DATA_DIR }
    : { kind: 'pglite', dataDir: parsed.DATA_DIR };
}

export const databaseConfig = registerAs('database', () => readDatabaseSettings());
