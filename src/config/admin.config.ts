import { registerAs } from '@nestjs/config';
import { IsOptional, IsString } from 'class-validator';
import { RuntimeEnv } from '../integrations/jira/config/runtime.env.js';
import { EnvValidationError, isPlaceholder, validateEnv } from '../integrations/jira/config/validate-env.js';
import { Describe } from '../integrations/jira/config/describe.js';

export const ADMIN_KEY_MIN_LENGTH = 32;

export class AdminEnv extends RuntimeEnv {
  /** Comma-separated keys for the service-to-service admin API; unset = the admin API answers 404. */
  @IsOptional()
  @IsString()
  @Describe('comma-separated keys (each at least 32 characters, e.g. `openssl rand -hex 32`) of the admin API; list two during a rotation; unset = every admin route answers 404')
  ADMIN_API_KEYS?: string;
}

export interface AdminSettings {
  keys: string[];
}

export function readAdminSettings(env: NodeJS.ProcessEnv = process.env): AdminSettings {
  const parsed = validateEnv(AdminEnv, env);
  const keys = (parsed.ADMIN_API_KEYS ?? '').split(',').map((k) => k.trim()).filter(Boolean);
  // Never echo a key: say which entry is wrong by position.
  const problems = keys.flatMap((k, i) => [
    ...(k.length < ADMIN_KEY_MIN_LENGTH ? [`ADMIN_API_KEYS entry ${i + 1} is shorter than ${ADMIN_KEY_MIN_LENGTH} characters`] : []),
    ...(isPlaceholder(k) || !/^[\x21-\x7e]+$/.test(k) ? [`ADMIN_API_KEYS entry ${i + 1} is a placeholder or has characters a header cannot carry`] : []),
  ]);
  if (problems.length > 0) throw new EnvValidationError(problems);
  return { keys };
}

export const adminConfig = registerAs('admin', () => readAdminSettings());
