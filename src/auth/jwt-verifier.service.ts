import { createSecretKey, type KeyObject } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { authConfig } from '../config/auth.config.js';
import { signHs256Token } from './sign-token.js';
import { parseOpaqueId } from '../common/opaque-id.js';

export interface VerifiedIdentity {
  userId: string;
  claims: JWTPayload;
}


/** Verifies the product's bearer tokens: HS256 with a shared secret, or RS256/ES256 from a JWKS. */
@Injectable()
export class JwtVerifier {
  /** Imported once: jose would otherwise import raw key bytes on every verification. */
  private readonly secret?: KeyObject;
  private readonly jwks?: JWTVerifyGetKey;

  constructor(@Inject(authConfig.KEY) private readonly settings: ConfigType<typeof authConfig>) {
    if (settings.jwksUrl) this.jwks = createRemoteJWKSet(new URL(settings.jwksUrl));
    if (settings.jwtSecret) this.secret = createSecretKey(Buffer.from(settings.jwtSecret, 'utf8'));
  }

  /** Returns the identity, or null for any invalid, expired or foreign token. */
  async verify(token: string): Promise<VerifiedIdentity | null> {
    const options = {
      issuer: this.settings.issuer,
      audience: this.settings.audience,
      clockTolerance: 5,
    };
    try {
      const { payload } = this.jwks
        ? await jwtVerify(token, this.jwks, { ...options, algorithms: ['RS256', 'ES256'] })
        : await jwtVerify(token, this.secret!, { ...options, algorithms: ['HS256'] });
      const userId = parseOpaqueId(payload.sub);
      if (userId === null) return null;
      return { userId, claims: payload };
    } catch {
      return null;
    }
  }

  /** Signs an HS256 token (development CLI and tests). */
  sign(userId: string, ttlSeconds = 3600): Promise<string> {
    return signHs256Token(this.settings, userId, ttlSeconds);
  }
}
