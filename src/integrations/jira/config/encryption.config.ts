import { IsOptional, Matches } from 'class-validator';
import { EnvValidationError, isPlaceholder } from './validate-env.js';
import { asList, Env, type Namer } from './option-schema.js';
import { Describe } from './describe.js';

const BASE64_32 = /^[A-Za-z0-9+/_-]{43}=?$/;

/**
 * `encryption`: the keys of the token columns. Options take Buffers or base64 text; the
 * standalone server's variables are base64 text (the previous keys comma-separated).
 */
export class EncryptionOptions {
  /** 32 random bytes, base64: `openssl rand -base64 32`. */
  @Env('ENCRYPTION_KEY')
  @IsOptional()
  @Matches(BASE64_32, { message: '$property must be 32 bytes encoded as base64 (openssl rand -base64 32)' })
  @Describe('key of the token columns (AES-256-GCM): 32 bytes, base64 (`openssl rand -base64 32`)', { default: 'generated in development' })
  currentKey?: string;

  /** Comma-separated keys that still decrypt (after a rotation), never used to encrypt. */
  @Env('ENCRYPTION_PREVIOUS_KEYS')
  @IsOptional()
  @Matches(/^[A-Za-z0-9+/_-]{43}=?(\s*,\s*[A-Za-z0-9+/_-]{43}=?)*$/, {
    message: '$property must be a comma-separated list of 32-byte base64 keys',
  })
  @Describe('comma-separated retired keys that still decrypt, never used to encrypt (key rotation)')
  previousKeys?: string;
}

export interface EncryptionSettings {
  currentKey: Buffer;
  previousKeys: Buffer[];
}

export function decodeKey(value: string, named: string): Buffer {
  const key = Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (key.length !== 32) throw new EnvValidationError([`${named} must decode to exactly 32 bytes`]);
  return key;
}

/** A 32-byte key: a Buffer, or base64 text (`openssl rand -base64 32`). */
export type EncryptionKey = Buffer | string;

function toKey(key: unknown, named: string, problems: string[]): Buffer | null {
  if (Buffer.isBuffer(key)) {
    if (key.length === 32) return key;
    problems.push(`${named} must be exactly 32 bytes`);
    return null;
  }
  if (typeof key !== 'string' || !BASE64_32.test(key.trim())) {
    problems.push(`${named} must be 32 bytes: a Buffer, or base64 text (openssl rand -base64 32)`);
    return null;
  }
  return decodeKey(key.trim(), named);
}

/** Keys are not run through class-transformer (it would copy a Buffer into a plain object). */
export function resolveEncryptionSettings(
  e: { currentKey?: EncryptionKey; previousKeys?: readonly EncryptionKey[] | string } | undefined, name: Namer, problems: string[],
): EncryptionSettings {
  const current = e?.currentKey;
  if (current === undefined || current === '' || (typeof current === 'string' && isPlaceholder(current))) {
    problems.push(`${name('encryption', 'currentKey')} is required (32 bytes, base64: openssl rand -base64 32)`);
  }
  const previous = typeof e?.previousKeys === 'string' ? (asList(e.previousKeys) as string[]) : [...(e?.previousKeys ?? [])];
  const currentKey = current === undefined || current === '' ? null : toKey(current, name('encryption', 'currentKey'), problems);
  return {
    currentKey: currentKey ?? Buffer.alloc(32),
    previousKeys: previous.map((k) => toKey(k, name('encryption', 'previousKeys'), problems)).filter((k): k is Buffer => k !== null),
  };
}
