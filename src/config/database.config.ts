import { registerAs } from '@nestjs/config';
import { IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { RuntimeEnv } from './runtime.env.js';
import { validateEnv } from './validate-env.js';

export class DatabaseEnv extends RuntimeEnv {
  /** Unset: the embedded PGlite database under DATA_DIR. */
  @IsOptional()
  @Matches(/^postgres(ql)?:\/\/\S+$/, {
    message: 'DATABASE_URL must be a postgres:// or postgresql:// connection URL',
  })
  DATABASE_URL?: string;

  /** PostgreSQL connections per process (no lock or connection is held across Atlassian calls). */
  @IsInt()
  @Min(1)
  @Max(200)
  DATABASE_POOL_SIZE: number = 10;
}

export interface DatabaseSettings {
  /** `postgres` when DATABASE_URL is set, otherwise the embedded PGlite engine. */
  kind: 'postgres' | 'pglite';
  url?: string;
  /** PGlite data directory; `memory://` keeps everything in memory. */
  dataDir: string;
  poolSize?: number;
}

export function readDatabaseSettings(env: NodeJS.ProcessEnv = process.env): DatabaseSettings {
  const parsed = validateEnv(DatabaseEnv, env);
  return parsed.DATABASE_URL
    ? { kind: 'postgres', url: parsed.DATABASE_URL, dataDir: parsed.DATA_DIR, poolSize: parsed.DATABASE_POOL_SIZE }
    : { kind: 'pglite', dataDir: parsed.DATA_DIR };
}

export const databaseConfig = registerAs('database', () => readDatabaseSettings());
