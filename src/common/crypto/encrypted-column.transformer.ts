import type { ValueTransformer } from 'typeorm';
import type { TokenCipher } from './token-cipher.js';

/*
 * TypeORM builds transformers when entity classes are decorated, long before Nest's container
 * exists, so the cipher is installed here at start-up (EncryptionService's constructor, or the
 * CLI) and looked up at query time.
 */
let installed: TokenCipher | undefined;

export function installColumnCipher(cipher: TokenCipher): void {
  installed = cipher;
}

export function columnCipher(): TokenCipher {
  if (!installed) throw new Error('No column cipher installed: EncryptionService was not created');
  return installed;
}

/** Encrypts a nullable text column at rest; the column name is the authenticated data. */
export function encryptedColumn(columnName: string): ValueTransformer {
  return {
    to: (value: string | null | undefined) =>
      value === null || value === undefined ? value : columnCipher().encrypt(value, columnName),
    from: (value: string | null) => (value === null ? null : columnCipher().decrypt(value, columnName)),
  };
}
