import { columnCipher } from '../../../common/crypto/encrypted-column.transformer.js';
import { DecryptionError } from '../../../common/crypto/token-cipher.js';

/*
 * How the token manager seals and opens the token columns of a team's row: bound to the column
 * AND the team (a ciphertext copied into another team's row fails), legacy column-only
 * envelopes still open.
 */

export type TokenColumn = 'access_token' | 'refresh_token' | 'client_credential';

/** A service account's OAuth 2.0 credential (sealed as JSON in `client_credential`). */
export interface ClientCredential {
  clientId: string;
  clientSecret: string;
}

export const sealClientCredential = (credential: ClientCredential, teamId: string): string =>
  sealToken(JSON.stringify({ clientId: credential.clientId, clientSecret: credential.clientSecret }), 'client_credential', teamId);

/** Throws DecryptionError (isUnreadable) when the envelope does not open or is not a credential. */
export function openClientCredential(envelope: string, teamId: string): ClientCredential {
  let parsed: Partial<ClientCredential> | null;
  try {
    parsed = JSON.parse(openToken(envelope, 'client_credential', teamId)) as Partial<ClientCredential> | null;
  } catch (err) {
    if (isUnreadable(err)) throw err;
    throw new DecryptionError('not a client credential');
  }
  if (!parsed || typeof parsed.clientId !== 'string' || typeof parsed.clientSecret !== 'string') throw new DecryptionError('not a client credential');
  return { clientId: parsed.clientId, clientSecret: parsed.clientSecret };
}

export const sealToken = (plaintext: string, column: TokenColumn, teamId: string): string =>
  columnCipher().encryptForTeam(plaintext, column, teamId);

export const openToken = (envelope: string, column: TokenColumn, teamId: string): string =>
  columnCipher().decryptForTeam(envelope, column, teamId);

export const isUnreadable = (err: unknown): err is DecryptionError => err instanceof DecryptionError;
