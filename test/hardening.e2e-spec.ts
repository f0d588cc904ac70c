import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp, type TestMember } from './helpers/test-app.js';

/** A body nested `depth` levels deep: {"a":{"a":...}} or [[...]]. */
const nested = (depth: number, kind: 'object' | 'array'): string =>
  kind === 'object' ? '{"a":'.repeat(depth) + '1' + '}'.repeat(depth) : '['.repeat(depth) + '1' + ']'.repeat(depth);

describe('bearer token lifetime (AUTH_JWT_MAX_AGE_SECONDS)', () => {
  let t: TestApp;
  let m: TestMember;
  const secret = new TextEncoder().encode(process.env.AUTH_JWT_SECRET);
  const now = () => Math.floor(Date.now() / 1000);
  /** An HS256 token for the member with exactly these time claims. */
  const token = (claims: { iat?: number; exp?: number }) => {
    const jwt = new SignJWT({ ...claims }).setProtectedHeader({ alg: 'HS256' }).setSubject(m.userId);
    return jwt.sign(secret);
  };
  const status = (bearer: string) =>
    t.http.get('/api/integrations/jira/oauth/status').set({ authorization: `Bearer ${bearer}`, 'x-team-id': m.teamId });

  beforeAll(async () => {
    t = await createTestApp({ env: { AUTH_JWT_MAX_AGE_SECONDS: '3600' } });
    m = await t.member('member');
  });
  afterAll(async () => {
    await t?.close();
  });

  it('accepts a token whose lifetime is within the cap', async () => {
    const res = await status(await token({ iat: now(), exp: now() + 3000 }));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  });

  it('refuses a token without exp with 401 token_lifetime_invalid', async () => {
    const res = await status(await token({ iat: now() }));
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 401, code: 'token_lifetime_invalid' });
    expect(res.body.detail).toMatch(/exp/);
  });

  it('refuses a token issued for longer than the cap (exp - iat), even late in its life', async () => {
    const res = await status(await token({ iat: now() - 3000, exp: now() + 3000 }));
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('token_lifetime_invalid');
    expect(res.body.detail).toMatch(/3600/);
  });

  it('refuses a token without iat that is valid for longer than the cap from now (exp - now)', async () => {
    expect((await status(await token({ exp: now() + 3000 }))).status).toBe(200);
    const res = await status(await token({ exp: now() + 7200 }));
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('token_lifetime_invalid');
  });

  it('refuses a token whose iat lies in the future to stretch its life', async () => {
    const res = await status(await token({ iat: now() + 7000, exp: now() + 7200 }));
    expect(res.status).toBe(401);
    expect(['token_lifetime_invalid', 'invalid_token']).toContain(res.body.code);
  });

  it('refuses an iat more than the clock skew in the future with 401 token_lifetime_invalid, even a short-lived token', async () => {
    // 20 minutes of life, well within the cap: only the future iat is wrong.
    const res = await status(await token({ iat: now() + 600, exp: now() + 1200 }));
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('token_lifetime_invalid');
    expect(res.body.detail).toMatch(/iat/);
    // A few seconds of skew between the issuer's clock and ours is fine.
    expect((await status(await token({ iat: now() + 3, exp: now() + 600 }))).status).toBe(200);
  });

  it('defaults the cap to one day', async () => {
    const d = await createTestApp();
    try {
      const member = await d.member('member');
      const sign = (exp: number) => new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(member.userId)
        .setIssuedAt(now()).setExpirationTime(exp).sign(secret);
      const get = async (bearer: string) => (await d.http.get('/api/integrations/jira/oauth/status')
        .set({ authorization: `Bearer ${bearer}`, 'x-team-id': member.teamId })).status;
      expect(await get(await sign(now() + 86_000))).toBe(200);
      expect(await get(await sign(now() + 90_000))).toBe(401);
    } finally {
      await d.close();
    }
  });
});

describe('deeply nested request bodies', () => {
  let t: TestApp;
  let m: TestMember;
  beforeAll(async () => {
    t = await createTestApp();
    m = await t.member('owner');
  });
  afterAll(async () => {
    await t?.close();
  });
  const authorize = (raw: string) =>
    t.http.post('/api/integrations/jira/oauth/authorize').set(m.headers).set('content-type', 'application/json').send(raw);

  it.each(['object', 'array'] as const)('answers 1,500 levels of %s nesting with 400 body_too_deep, not a 500', async (kind) => {
    const res = await authorize(`{"returnTo":${nested(1500, kind)}}`);
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe('body_too_deep');
    expect(res.body.detail).toMatch(/32/);
  });

  it('refuses just past the bound (33 levels) and lets 32 through to validation', async () => {
    // The body itself is level 1, so {"returnTo": <31 levels>} is 32 deep.
    expect((await authorize(`{"returnTo":${nested(32, 'object')}}`)).body.code).toBe('body_too_deep');
    const within = await authorize(`{"returnTo":${nested(31, 'array')}}`);
    expect(within.status).toBe(400);
    expect(within.body.code).toBe('validation_failed');
  });

  it('answers a body over the size limit with 413 payload_too_large and a human detail', async () => {
    const res = await authorize(JSON.stringify({ returnTo: 'x'.repeat(40_000) }));
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('payload_too_large');
    expect(res.body.detail).not.toMatch(/entity\.too\.large/);
    expect(res.body.detail).toMatch(/32 ?kB|32768 bytes/i);
  });
});

describe('TRUST_PROXY', () => {
  it('accepts false (the app starts and does not trust X-Forwarded-For)', async () => {
    const t = await createTestApp({ env: { TRUST_PROXY: 'false' } });
    try {
      expect(t.app.getHttpAdapter().getInstance().get('trust proxy')).toBeFalsy();
      expect((await t.http.get('/health')).status).toBe(200);
    } finally {
      await t.close();
    }
  });
});
