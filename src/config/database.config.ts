import { registerAs } from '@nestjs/config';
import { IsIn, IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { RuntimeEnv } from '../integrations/jira/config/runtime.env.js';
import { EnvValidationError, validateEnv } from '../integrations/jira/config/validate-env.js';
import { Describe } from '../integrations/jira/config/describe.js';

export class DatabaseEnv extends RuntimeEnv {
  /** Unset: the embedded PGlite database under DATA_DIR. */
  @IsOptional()
  @Matches(/^postgres(ql)?:\/\/\S+$/, {
    message: 'DATABASE_URL must be a postgres:// or postgresql:// connection URL',
  })
  @Describe('PostgreSQL connection URL; unset uses the embedded database (refused in production unless `ALLOW_EMBEDDED_DATABASE=true`)')
  DATABASE_URL?: string;

  /** PostgreSQL connections per process (no lock or connection is held across Atlassian calls). */
  @IsInt()
  @Min(1)
  @Max(200)
  @Describe('PostgreSQL connections per process; small pools such as 4 work, since no connection is held across a call to Atlassian. Behind a pooler see [operations-poolers.md](operations-poolers.md)')
  DATABASE_POOL_SIZE: number = 10;

  /** Waiting for a pooled connection (PostgreSQL: also opening one; embedded: the single session). */
  @IsInt()
  @Min(100)
  @Max(120_000)
  @Describe('longest wait for a database connection: a free pooled one or a new one (embedded database: the single session); then 503 `database_unavailable`')
  DATABASE_CONNECT_TIMEOUT_MS: number = 5000;

  /** PostgreSQL statement_timeout; the client also gives a statement up one second later (frozen server). */
  @IsInt()
  @Min(100)
  @Max(600_000)
  @Describe('PostgreSQL `statement_timeout` of every transaction (`SET LOCAL`, so it holds through a transaction pooler); the client gives up one second later if the server does not answer at all (then 503 `database_unavailable`)')
  DATABASE_STATEMENT_TIMEOUT_MS: number = 10_000;

  /** Production runs on PostgreSQL; `true` accepts the single-process embedded database anyway. */
  @IsIn(['true', 'false'], { message: 'ALLOW_EMBEDDED_DATABASE must be true or false' })
  @Describe('`true` lets `NODE_ENV=production` run on the embedded single-process database')
  ALLOW_EMBEDDED_DATABASE: string = 'false';
}

export interface DatabaseSettings {
  /** `postgres` when DATABASE_URL is set, otherwise the embedded PGlite engine. */
  kind: 'postgres' | 'pglite';
  url?: string;
  /** PGlite data directory; `memory://` keeps everything in memory. */
  dataDir: string;
  poolSize?: number;
  /** Bounds on every database wait (defaults in src/database/bounded-pool.ts when absent). */
  connectTimeoutMs?: number;
  statementTimeoutMs?: number;
}

export function readDatabaseSettings(env: NodeJS.ProcessEnv = process.env): DatabaseSettings {
  const parsed = validateEnv(DatabaseEnv, env);
  const bounds = { connectTimeoutMs: parsed.DATABASE_CONNECT_TIMEOUT_MS, statementTimeoutMs: parsed.DATABASE_STATEMENT_TIMEOUT_MS };
  if (!parsed.DATABASE_URL && parsed.NODE_ENV === 'production' && parsed.ALLOW_EMBEDDED_DATABASE !== 'true') {
    throw new EnvValidationError([
      'DATABASE_URL is required in production: the embedded database (PGlite) is single-process and lives on '
        + 'local disk. Set DATABASE_URL=postgres://..., or ALLOW_EMBEDDED_DATABASE=true to run on it anyway',
    ]);
  }
  return parsed.DATABASE_URL
    ? { kind: 'postgres', url: parsed.DATABASE_URL, dataDir: parsed.DATA_DIR, poolSize: parsed.DATABASE_POOL_SIZE, ...bounds }
    : { kind: 'pglite', dataDir: parsed.DATA_DIR, ...bounds };
}

export const databaseConfig = registerAs('database', () => readDatabaseSettings());
