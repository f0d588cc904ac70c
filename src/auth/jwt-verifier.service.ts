import { createSecretKey, type KeyObject } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { authConfig } from '../config/auth.config.js';
import { signHs256Token } from './sign-token.js';
import { parseOpaqueId } from '../integrations/jira/common/opaque-id.js';
import { VerifiedTokenCache } from './verified-token-cache.js';

export interface VerifiedIdentity {
  userId: string;
  claims: JWTPayload;
}

/** Why a token was refused: `lifetime` when it is genuine but lives too long (or forever). */
export type TokenCheck =
  | { ok: true; identity: VerifiedIdentity }
  | { ok: false; reason: 'invalid' }
  | { ok: false; reason: 'lifetime'; detail: string };

const CLOCK_TOLERANCE_SECONDS = 5;

/** Verifies the product's bearer tokens: HS256 with a shared secret, or RS256/ES256 from a JWKS. */
@Injectable()
export class JwtVerifier {
  /** Imported once: jose would otherwise import raw key bytes on every verification. */
  private readonly secret?: KeyObject;
  private readonly jwks?: JWTVerifyGetKey;
  /** Signatures already checked (for at most a minute, never past exp): see VerifiedTokenCache. */
  private readonly verified = new VerifiedTokenCache();

  constructor(@Inject(authConfig.KEY) private readonly settings: ConfigType<typeof authConfig>) {
    if (settings.jwksUrl) this.jwks = createRemoteJWKSet(new URL(settings.jwksUrl));
    if (settings.jwtSecret) this.secret = createSecretKey(Buffer.from(settings.jwtSecret, 'utf8'));
  }

  /** Returns the identity, or null for any invalid, expired, foreign or over-long token. */
  async verify(token: string): Promise<VerifiedIdentity | null> {
    const result = await this.check(token);
    return result.ok ? result.identity : null;
  }

  async check(token: string): Promise<TokenCheck> {
    const options = {
      issuer: this.settings.issuer,
      audience: this.settings.audience,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
    };
    const nowMs = Date.now();
    let payload = this.verified.get(token, nowMs);
    if (!payload) {
      try {
        ({ payload } = this.jwks
          ? await jwtVerify(token, this.jwks, { ...options, algorithms: ['RS256', 'ES256'] })
          : await jwtVerify(token, this.secret!, { ...options, algorithms: ['HS256'] }));
      } catch {
        return { ok: false, reason: 'invalid' };
      }
      this.verified.set(token, payload, nowMs);
    }
    const userId = parseOpaqueId(payload.sub);
    if (userId === null) return { ok: false, reason: 'invalid' };
    const lifetimeProblem = this.lifetimeProblem(payload);
    if (lifetimeProblem) return { ok: false, reason: 'lifetime', detail: lifetimeProblem };
    return { ok: true, identity: { userId, claims: payload } };
  }

  /**
   * A stolen token must not work forever: `exp` is required, and neither the lifetime the issuer
   * granted (`exp - iat`) nor what is left of it (`exp - now`) may exceed AUTH_JWT_MAX_AGE_SECONDS,
   * and a token is not issued in the future (`iat` more than the clock tolerance ahead of now).
   */
  private lifetimeProblem(payload: JWTPayload): string | undefined {
    const max = this.settings.maxTokenAgeSeconds;
    if (typeof payload.exp !== 'number') return 'The token has no expiry (exp claim): issue tokens that expire.';
    const now = Math.floor(Date.now() / 1000);
    if (typeof payload.iat === 'number' && payload.iat > now + CLOCK_TOLERANCE_SECONDS) {
      return `The token's iat lies in the future (more than ${CLOCK_TOLERANCE_SECONDS} seconds of clock skew): check the issuer's clock.`;
    }
    const granted = typeof payload.iat === 'number' ? payload.exp - payload.iat : 0;
    const remaining = payload.exp - now;
    if (Math.max(granted, remaining) > max + CLOCK_TOLERANCE_SECONDS) {
      return `The token lives longer than this API accepts (${max} seconds, AUTH_JWT_MAX_AGE_SECONDS): issue shorter-lived tokens.`;
    }
    return undefined;
  }

  /** Signs an HS256 token (development CLI and tests). */
  sign(userId: string, ttlSeconds = 3600): Promise<string> {
    return signHs256Token(this.settings, userId, ttlSeconds);
  }
}
