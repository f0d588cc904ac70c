import { existsSync } from 'node:fs';

/**
 * Reads `.env` from the working directory into process.env for the entry points that do not go
 * through ConfigModule (the CLI, the TypeORM CLI data source), so they see the same settings as
 * the server. Variables already set in the environment win, as they do in ConfigModule.
 */
export function loadEnvFile(path = '.env'): void {
  if (process.env.NODE_ENV !== 'test' && existsSync(path)) process.loadEnvFile(path);
}
