import { SignJWT } from 'jose';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AuthSettings } from '../config/auth.config.js';
import { JwtVerifier } from './jwt-verifier.service.js';

const SECRET = 'verifier-spec-secret-0123456789-abcdefghij';
const settings: AuthSettings = { jwtSecret: SECRET, maxTokenAgeSeconds: 3600, generatedSecret: false };
const T0 = Date.UTC(2026, 11, 5, 12, 0, 0);

const sign = (claims: { sub: string; iat: number; exp: number }, secret = SECRET): Promise<string> =>
  new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(claims.sub).setIssuedAt(claims.iat)
    .setExpirationTime(claims.exp).sign(new TextEncoder().encode(secret));

/*
 * The verified-token cache (verified-token-cache.ts) must not change any answer: a token is
 * refused once past exp even though its signature was checked a moment before, and a token that
 * failed once is refused every time.
 */
describe('JwtVerifier with its verified-token cache', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(T0);
  });
  afterEach(() => vi.useRealTimers());

  it('a remembered token is refused once past its exp (beyond the 5 s tolerance), as an unremembered one is', async () => {
    const verifier = new JwtVerifier(settings);
    const now = T0 / 1000;
    const token = await sign({ sub: 'user-1', iat: now, exp: now + 30 });
    expect(await verifier.check(token)).toMatchObject({ ok: true, identity: { userId: 'user-1' } });
    vi.setSystemTime(T0 + 29_000);
    expect(await verifier.check(token)).toMatchObject({ ok: true });
    vi.setSystemTime(T0 + 36_000);
    expect(await verifier.check(token)).toEqual({ ok: false, reason: 'invalid' });
    expect(await new JwtVerifier(settings).check(token)).toEqual({ ok: false, reason: 'invalid' });
  });

  it('a token signed with another secret is refused every time (failures are never remembered)', async () => {
    const verifier = new JwtVerifier(settings);
    const now = T0 / 1000;
    const forged = await sign({ sub: 'user-1', iat: now, exp: now + 600 }, 'another-secret-0123456789-abcdefghijklmn');
    for (let i = 0; i < 3; i++) expect(await verifier.check(forged)).toEqual({ ok: false, reason: 'invalid' });
  });

  it('a token whose lifetime is too long is refused on every call, remembered or not', async () => {
    const verifier = new JwtVerifier(settings);
    const now = T0 / 1000;
    const long = await sign({ sub: 'user-1', iat: now, exp: now + 7200 });
    for (let i = 0; i < 2; i++) expect(await verifier.check(long)).toMatchObject({ ok: false, reason: 'lifetime' });
  });

  it('after the cache\'s minute the token is verified again, and still accepted while valid', async () => {
    const verifier = new JwtVerifier(settings);
    const now = T0 / 1000;
    const token = await sign({ sub: 'user-2', iat: now, exp: now + 3000 });
    expect(await verifier.verify(token)).toMatchObject({ userId: 'user-2' });
    vi.setSystemTime(T0 + 61_000);
    expect(await verifier.verify(token)).toMatchObject({ userId: 'user-2' });
  });
});
