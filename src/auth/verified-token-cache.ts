import type { JWTPayload } from 'jose';

/** How long a verified signature is trusted without checking it again. */
export const VERIFIED_TOKEN_TTL_MS = 60_000;
/** At most this many tokens are remembered (oldest verification dropped first). */
export const VERIFIED_TOKEN_MAX_ENTRIES = 1000;

interface Entry {
  payload: JWTPayload;
  /** When the entry stops being used: the TTL after verification, or the token's own exp, whichever is first. */
  usableUntilMs: number;
}

/**
 * Bearer tokens whose signature, issuer, audience and algorithm were verified, so that a client
 * sending the same token on every request (an SPA does) costs one signature check a minute instead
 * of one per request: the HMAC or RSA check through WebCrypto, with its key import, was about 9 %
 * of the Jira proxy's CPU per request (bench/RESULTS.md).
 *
 * Only a successful verification is remembered, and only until the earlier of the TTL and the
 * token's `exp`; the token's time rules (expiry, lifetime, `iat` in the future) are still checked
 * on every request by the caller, from the cached payload. What the cache changes: a token signed
 * by a JWKS key that the issuer has since withdrawn keeps working for at most the TTL.
 */
export class VerifiedTokenCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly ttlMs = VERIFIED_TOKEN_TTL_MS,
    private readonly maxEntries = VERIFIED_TOKEN_MAX_ENTRIES,
  ) {}

  /** The payload of a token verified less than the TTL ago and not past its exp; otherwise undefined. */
  get(token: string, nowMs: number): JWTPayload | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    if (nowMs >= entry.usableUntilMs) {
      this.entries.delete(token);
      return undefined;
    }
    return entry.payload;
  }

  /** Remembers a token that was just verified (a token without a numeric exp is not remembered). */
  set(token: string, payload: JWTPayload, nowMs: number): void {
    if (typeof payload.exp !== 'number') return;
    const usableUntilMs = Math.min(nowMs + this.ttlMs, payload.exp * 1000);
    if (usableUntilMs <= nowMs) return;
    this.entries.delete(token);
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    this.entries.set(token, { payload, usableUntilMs });
  }

  get size(): number {
    return this.entries.size;
  }
}
