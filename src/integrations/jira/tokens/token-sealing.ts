import { Injectable } from '@nestjs/common';
import { EncryptionService } from '../common/crypto/encryption.service.js';
import { DecryptionError, type TokenCipher } from '../common/crypto/token-cipher.js';

/*
 * How the module seals and opens the token columns of a team's row: bound to the column AND the
 * team (a ciphertext copied into another team's row fails), legacy column-only envelopes still
 * open. One TokenSealer per module instance, built from that instance's `encryption` option:
 * there is no process-wide cipher, so two module instances with different keys in one process
 * each read only their own rows (test/two-ciphers.e2e-spec.ts).
 */

export type TokenColumn = 'access_token' | 'refresh_token' | 'client_credential';

/** A service account's OAuth 2.0 credential (sealed as JSON in `client_credential`). */
export interface ClientCredential {
  clientId: string;
  clientSecret: string;
}

@Injectable()
export class TokenSealer {
  private readonly cipher: TokenCipher;

  constructor(cipher: EncryptionService) {
    this.cipher = cipher;
  }

  /** A sealer over any cipher (the CLI, tests). */
  static over(cipher: TokenCipher): TokenSealer {
    return new TokenSealer(cipher as EncryptionService);
  }

  seal(plaintext: string, column: TokenColumn, teamId: string): string {
    return this.cipher.encryptForTeam(plaintext, column, teamId);
  }

  /** Throws DecryptionError (isUnreadable) when the envelope does not open with this instance's keys. */
  open(envelope: string, column: TokenColumn, teamId: string): string {
    return this.cipher.decryptForTeam(envelope, column, teamId);
  }

  sealClientCredential(credential: ClientCredential, teamId: string): string {
    return this.seal(JSON.stringify({ clientId: credential.clientId, clientSecret: credential.clientSecret }), 'client_credential', teamId);
  }

  /** Throws DecryptionError (isUnreadable) when the envelope does not open or is not a credential. */
  openClientCredential(envelope: string, teamId: string): ClientCredential {
    let parsed: Partial<ClientCredential> | null;
    try {
      parsed = JSON.parse(this.open(envelope, 'client_credential', teamId)) as Partial<ClientCredential> | null;
    } catch (err) {
      if (isUnreadable(err)) throw err;
      throw new DecryptionError('not a client credential');
    }
    if (!parsed || typeof parsed.clientId !== 'string' || typeof parsed.clientSecret !== 'string') throw new DecryptionError('not a client credential');
    return { clientId: parsed.clientId, clientSecret: parsed.clientSecret };
  }
}

export const isUnreadable = (err: unknown): err is DecryptionError => err instanceof DecryptionError;
