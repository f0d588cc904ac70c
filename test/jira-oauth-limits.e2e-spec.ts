import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { fileFixtures } from './helpers/fixtures.js';
import { consent, startFlow } from './helpers/oauth-flow.js';
import { createTestApp } from './helpers/test-app.js';

const AUTHORIZE = '/api/integrations/jira/oauth/authorize';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

async function redisReachable(): Promise<boolean> {
  const client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 500, retryStrategy: () => null });
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}
const haveRedis = await redisReachable();
/** The file's fake Atlassian and its apps: file-scoped fixtures (test/helpers/fixtures.ts). */
const { useApp, useFake } = fileFixtures();

describe('Jira OAuth rate limits, configuration and OpenAPI', () => {
  const fake = useFake();
  const limited = useApp({
    env: { JIRA_RATE_LIMIT_PER_USER: '2', JIRA_RATE_LIMIT_CALLBACK_PER_IP: '2', JIRA_RATE_LIMIT_WINDOW_SECONDS: '30', REDIS_URL: undefined },
  });

  it('limits authorize per user with 429, Retry-After and problem JSON; other users are unaffected', async () => {
    const m = await limited.member('owner');
    for (let i = 0; i < 2; i++) expect((await limited.http.post(AUTHORIZE).set(m.headers).send({})).status).toBe(200);
    const res = await limited.http.post(AUTHORIZE).set(m.headers).send({});
    expect(res.status).toBe(429);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe('rate_limited');
    const retryAfter = Number(res.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(30);
    // Same user, same team: disconnect shares the per-user budget of its own route, not authorize's.
    expect((await limited.http.delete('/api/integrations/jira/oauth/disconnect').set(m.headers)).status).toBe(200);
    const other = await limited.member('owner');
    expect((await limited.http.post(AUTHORIZE).set(other.headers).send({})).status).toBe(200);
    // Status is not limited...
    for (let i = 0; i < 4; i++) expect((await limited.http.get('/api/integrations/jira/oauth/status').set(m.headers)).status).toBe(200);
  });

  it('limits status?verify=true (each one calls Jira) per user, but never plain status', async () => {
    const m = await limited.member('member');
    const verify = () => limited.http.get('/api/integrations/jira/oauth/status?verify=true').set(m.headers);
    expect((await verify()).status).toBe(200);
    expect((await verify()).status).toBe(200);
    const third = await verify();
    expect(third.status).toBe(429);
    expect(third.body.code).toBe('rate_limited');
    expect(Number(third.headers['retry-after'])).toBeGreaterThan(0);
    for (let i = 0; i < 3; i++) expect((await limited.http.get('/api/integrations/jira/oauth/status').set(m.headers)).status).toBe(200);
  });

  it('limits the callback per client IP', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 3; i++) codes.push((await limited.http.get('/api/integrations/jira/oauth/callback?state=nope')).status);
    expect(codes).toEqual([400, 400, 429]);
  });

  it('answers 503 jira_not_configured without Atlassian credentials', async () => {
    const bare = await createTestApp({ env: { JIRA_CLIENT_ID: undefined, JIRA_CLIENT_SECRET: undefined, JIRA_REDIRECT_URI: undefined } });
    try {
      const m = await bare.member('owner');
      const res = await bare.http.post(AUTHORIZE).set(m.headers).send({});
      expect(res.status).toBe(503);
      expect(res.body.code).toBe('jira_not_configured');
      expect((await bare.http.get('/api/integrations/jira/oauth/status').set(m.headers)).body.data.status).toBe('not_connected');
    } finally {
      await bare.close();
    }
  });

  it('documents every endpoint, body and error in OpenAPI', async () => {
    const res = await limited.http.get('/api/docs-json');
    expect(res.status).toBe(200);
    const paths = res.body.paths as Record<string, Record<string, { responses: Record<string, unknown>; requestBody?: unknown }>>;
    const base = '/api/integrations/jira';
    expect(Object.keys(paths[`${base}/oauth/authorize`].post.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403', '429', '503']));
    expect(paths[`${base}/oauth/authorize`].post.requestBody).toBeDefined();
    expect(Object.keys(paths[`${base}/oauth/callback`].get.responses)).toEqual(expect.arrayContaining(['200', '302', '400', '403', '429', '502']));
    expect(Object.keys(paths[`${base}/oauth/status`].get.responses)).toEqual(expect.arrayContaining(['200', '401', '403']));
    expect(Object.keys(paths[`${base}/site`].put.responses)).toEqual(expect.arrayContaining(['200', '409', '422']));
    expect(Object.keys(paths[`${base}/oauth/disconnect`].delete.responses)).toEqual(expect.arrayContaining(['200', '403', '429']));
    expect(JSON.stringify(paths[`${base}/oauth/callback`].get.responses['403'])).toContain('oauth_binding_mismatch');
    expect(res.body.components.schemas).toHaveProperty('AuthorizeDto');
    expect(res.body.components.schemas).toHaveProperty('SelectSiteDto');
  });

  describe.skipIf(!haveRedis)('with REDIS_URL', () => {
    const env = { REDIS_URL, JIRA_RATE_LIMIT_PER_USER: '3', JIRA_RATE_LIMIT_CALLBACK_PER_IP: '1000' };
    const a = useApp({ env });
    const b = useApp({ env });

    it('shares the counters between instances', async () => {
      const m = await a.member('owner');
      expect((await a.http.post(AUTHORIZE).set(m.headers).send({})).status).toBe(200);
      expect((await b.http.post(AUTHORIZE).set(m.headers).send({})).status).toBe(200);
      expect((await a.http.post(AUTHORIZE).set(m.headers).send({})).status).toBe(200);
      const res = await b.http.post(AUTHORIZE).set(m.headers).send({});
      expect(res.status).toBe(429);
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      expect((await a.http.post(AUTHORIZE).set(m.headers).send({})).status).toBe(429);
    });

    it('the flow still completes through Redis-backed limits', async () => {
      const m = await a.member('owner');
      const flow = await startFlow(a, m);
      const res = await b.http.get(await consent(fake, flow)).set('Cookie', flow.cookie);
      expect(res.status).toBe(200);
      expect(res.body.data.status).toBe('connected');
    });
  });
});
