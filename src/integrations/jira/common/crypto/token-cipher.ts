import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** v1: AAD is the column name (legacy). v2: AAD is the column name and the owning team's id. */
const VERSION = 'v1';
const ROW_BOUND_VERSION = 'v2';
const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Raised when a stored value cannot be decrypted: wrong or retired key, or tampering. */
export class DecryptionError extends Error {
  constructor(reason: string) {
    super(`Encrypted value could not be decrypted: ${reason}`);
    this.name = 'DecryptionError';
  }
}

/** A short, stable identifier of a key (not secret: a truncated hash). */
export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('base64url').slice(0, 8);
}

/**
 * AES-256-GCM with a fresh 12-byte IV per write, stored as
 * `v1:<keyId>:<iv>:<tag>:<ciphertext>` (base64url). The additional authenticated data (the column
 * name) ties a ciphertext to its column, so a value copied into another column fails to decrypt.
 */
export class TokenCipher {
  private readonly keys = new Map<string, Buffer>();
  readonly currentKeyId: string;

  constructor(currentKey: Buffer, previousKeys: readonly Buffer[] = []) {
    if (currentKey.length !== 32) throw new Error('Encryption key must be 32 bytes');
    this.currentKeyId = keyIdOf(currentKey);
    this.keys.set(this.currentKeyId, currentKey);
    for (const key of previousKeys) {
      if (key.length !== 32) throw new Error('Previous encryption keys must be 32 bytes');
      if (!this.keys.has(keyIdOf(key))) this.keys.set(keyIdOf(key), key);
    }
  }

  /**
   * Encrypts a value that belongs to one team's row: the AAD binds it to the column AND the team,
   * so a ciphertext copied into another team's row fails to decrypt (a `v2` envelope).
   */
  encryptForTeam(plaintext: string, column: string, teamId: string): string {
    return this.seal(ROW_BOUND_VERSION, plaintext, rowAad(column, teamId));
  }

  /** Decrypts a value of `teamId`'s row: `v2` envelopes bound to it, or legacy `v1` ones (column only). */
  decryptForTeam(envelope: string, column: string, teamId: string): string {
    return envelope.startsWith(`${ROW_BOUND_VERSION}:`)
      ? this.open(ROW_BOUND_VERSION, envelope, rowAad(column, teamId))
      : this.open(VERSION, envelope, column);
  }

  /** True when the value still uses the legacy column-only AAD (keys:rotate rewrites it). */
  isLegacy(envelope: string): boolean {
    return !envelope.startsWith(`${ROW_BOUND_VERSION}:`);
  }

  /** Key ids named by an envelope (not secret), for the start-up key check. */
  static keyIdOf(envelope: string): string | undefined {
    const parts = envelope.split(':');
    return parts.length === 5 ? parts[1] : undefined;
  }

  encrypt(plaintext: string, aad: string): string {
    return this.seal(VERSION, plaintext, aad);
  }

  decrypt(envelope: string, aad: string): string {
    return this.open(VERSION, envelope, aad);
  }

  private seal(version: string, plaintext: string, aad: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, this.keys.get(this.currentKeyId)!, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [version, this.currentKeyId, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join(':');
  }

  private open(version: string, envelope: string, aad: string): string {
    const parts = envelope.split(':');
    if (parts.length !== 5 || parts[0] !== version) throw new DecryptionError(`not a ${version} envelope`);
    const [, keyId, ivText, tagText, dataText] = parts;
    const key = this.keys.get(keyId);
    if (!key) throw new DecryptionError(`key ${keyId} is neither ENCRYPTION_KEY nor in ENCRYPTION_PREVIOUS_KEYS`);
    const iv = Buffer.from(ivText, 'base64url');
    const tag = Buffer.from(tagText, 'base64url');
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new DecryptionError('malformed envelope');
    try {
      const decipher = createDecipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(aad, 'utf8'));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(Buffer.from(dataText, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new DecryptionError('authentication failed (tampered, wrong column or team, or wrong key)');
    }
  }

  /** Whether `keyId` is the current key or one of the previous keys. */
  hasKey(keyId: string): boolean {
    return this.keys.has(keyId);
  }

  /** True when the value was written with a key other than the current one. */
  isStale(envelope: string): boolean {
    return envelope.split(':')[1] !== this.currentKeyId;
  }
}

const rowAad = (column: string, teamId: string): string => `${column}\u0000team:${teamId}`;
