import { columnCipher } from '../../../common/crypto/encrypted-column.transformer.js';
import { DecryptionError } from '../../../common/crypto/token-cipher.js';

/*
 * How the token manager seals and opens the token columns of a team's row: bound to the column
 * AND the team (a ciphertext copied into another team's row fails), legacy column-only
 * envelopes still open.
 */

export type TokenColumn = 'access_token' | 'refresh_token';

export const sealToken = (plaintext: string, column: TokenColumn, teamId: string): string =>
  columnCipher().encryptForTeam(plaintext, column, teamId);

export const openToken = (envelope: string, column: TokenColumn, teamId: string): string =>
  columnCipher().decryptForTeam(envelope, column, teamId);

export const isUnreadable = (err: unknown): err is DecryptionError => err instanceof DecryptionError;
