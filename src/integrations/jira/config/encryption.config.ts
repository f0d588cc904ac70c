import { registerAs } from '@nestjs/config';
import { IsOptional, Matches } from 'class-validator';
import { devSecret } from './dev-secrets.js';
import { RuntimeEnv } from './runtime.env.js';
import { EnvValidationError, isPlaceholder, validateEnv } from './validate-env.js';
import { Describe } from './describe.js';

const BASE64_32 = /^[A-Za-z0-9+/_-]{43}=?$/;

export class EncryptionEnv extends RuntimeEnv {
  /** 32 random bytes, base64: `openssl rand -base64 32`. */
  @IsOptional()
  @Matches(BASE64_32, { message: 'ENCRYPTION_KEY must be 32 bytes encoded as base64 (openssl rand -base64 32)' })
  @Describe('key of the token columns (AES-256-GCM): 32 bytes, base64 (`openssl rand -base64 32`)', { default: 'generated in development' })
  ENCRYPTION_KEY?: string;

  /** Comma-separated keys that still decrypt (after a rotation), never used to encrypt. */
  @IsOptional()
  @Matches(/^[A-Za-z0-9+/_-]{43}=?(\s*,\s*[A-Za-z0-9+/_-]{43}=?)*$/, {
    message: 'ENCRYPTION_PREVIOUS_KEYS must be a comma-separated list of 32-byte base64 keys',
  })
  @Describe('comma-separated retired keys that still decrypt, never used to encrypt (key rotation)')
  ENCRYPTION_PREVIOUS_KEYS?: string;
}

export interface EncryptionSettings {
  currentKey: Buffer;
  previousKeys: Buffer[];
}

export function decodeKey(value: string, variable: string): Buffer {
  const key = Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (key.length !== 32) throw new EnvValidationError([`${variable} must decode to exactly 32 bytes`]);
  return key;
}

export function readEncryptionSettings(env: NodeJS.ProcessEnv = process.env): EncryptionSettings {
  const parsed = validateEnv(EncryptionEnv, env);
  let current = parsed.ENCRYPTION_KEY;
  if (!current || isPlaceholder(current)) {
    if (parsed.NODE_ENV === 'production') {
      throw new EnvValidationError([
        'ENCRYPTION_KEY is required in production (32 bytes, base64: openssl rand -base64 32)',
      ]);
    }
    current = devSecret(parsed.DATA_DIR, 'ENCRYPTION_KEY');
  }
  const previous = (parsed.ENCRYPTION_PREVIOUS_KEYS ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean)
    .map((k) => decodeKey(k, 'ENCRYPTION_PREVIOUS_KEYS'));
  return { currentKey: decodeKey(current, 'ENCRYPTION_KEY'), previousKeys: previous };
}

export const encryptionConfig = registerAs('encryption', () => readEncryptionSettings());
