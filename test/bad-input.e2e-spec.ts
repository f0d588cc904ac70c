import fc from 'fast-check';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeAtlassian } from '../src/integrations/jira/testing/fake-atlassian/fake-atlassian.js';
import { fileFixtures } from './helpers/fixtures.js';
import { documentedCodes, type OpenApiDocument } from './helpers/openapi-doc.js';
import type { TestMember } from './helpers/test-app.js';

/*
 * Property-based bad input: random bodies, content types, headers, query strings and cookies
 * thrown at every endpoint. Whatever arrives, the service must never answer 5xx, every 4xx must
 * be problem JSON with a `code`, and a rejected (4xx) request must not change a single row.
 * A good share of the runs carries valid credentials so the input reaches the handlers.
 * Reproduce a failure with FC_SEED=<seed printed by fast-check>.
 */

const NUM_RUNS = Number(process.env.FC_RUNS ?? 200);
const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined;
const BASE = '/api/integrations/jira';

type Method = 'get' | 'post' | 'put' | 'delete' | 'patch';

interface Endpoint {
  name: string;
  method: Method;
  path: string;
}

const ENDPOINTS: Endpoint[] = [
  { name: 'health', method: 'get', path: '/health' },
  { name: 'metrics', method: 'get', path: '/metrics' },
  { name: 'authorize', method: 'post', path: `${BASE}/oauth/authorize` },
  { name: 'callback', method: 'get', path: `${BASE}/oauth/callback` },
  { name: 'status', method: 'get', path: `${BASE}/oauth/status` },
  { name: 'site', method: 'put', path: `${BASE}/site` },
  { name: 'disconnect', method: 'delete', path: `${BASE}/oauth/disconnect` },
  { name: 'webhooks', method: 'post', path: `${BASE}/webhooks` },
];

/** Printable ASCII: anything else cannot be put in an HTTP header by the client at all. */
const printable = (maxLength = 60) =>
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength });

const jsonish = (): fc.Arbitrary<unknown> =>
  fc.oneof(
    fc.string(),
    fc.string({ unit: 'grapheme' }),
    fc.webUrl(),
    fc.constantFrom('acme', 'ACME.atlassian.net', 'https://acme.atlassian.net', 'https://acme.atlassian.net/jira?x=1',
      'http://acme.atlassian.net', 'https://user:pw@acme.atlassian.net', 'https://evil.example', 'javascript:alert(1)',
      '//evil.example', 'http://localhost:5173/settings', '', ' ', '%00', '../../etc/passwd'),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.string(), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
  );

interface BadRequest {
  method: Method;
  query: [string, string][];
  rawQuery: string;
  credentials: { authorization: string | undefined; teamId: string | undefined };
  cookies: [string, string][];
  contentType: string | undefined;
  body: string | undefined;
  extraHeaders: [string, string][];
}

/** The file's fake Atlassian and its app: file-scoped fixtures (test/helpers/fixtures.ts). */
const { useApp, useFake } = fileFixtures();

describe('bad input (property-based)', () => {
  const fake = useFake();
  const t = useApp({
    env: {
      OAUTH_RETURN_ORIGINS: 'http://localhost:5173',
      // High limits: the point is to reach validation, not to collect 429s.
      JIRA_RATE_LIMIT_PER_USER: '100000',
      JIRA_RATE_LIMIT_CALLBACK_PER_IP: '100000',
    },
  });
  let server: { close: () => void } | undefined;
  let connected: TestMember;
  let pending: TestMember;
  const tokens: string[] = [];
  const teamIds: string[] = [];
  const cloudIds: string[] = [];
  const members: TestMember[] = [];
  /** Authorizations in progress: their real `state` and binding cookie, to mix and match. */
  const flows: { state: string; cookie: [string, string] }[] = [];
  let snapshotSql = '';
  let last = '';
  /** The served OpenAPI document: every answered code must be one it lists for that route. */
  let openapi: OpenApiDocument;

  const snapshot = async (): Promise<string> => JSON.stringify(await t.dataSource.query(snapshotSql));

  /** The real connect flow against the fake, when the endpoints exist. */
  async function connect(m: TestMember): Promise<void> {
    const auth = await t.http.post(`${BASE}/oauth/authorize`).set(m.headers).send({});
    if (auth.status !== 200) throw new Error(`authorize answered ${auth.status}: ${auth.text}`);
    const cookies = ([] as string[]).concat(auth.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).join('; ');
    const callback = await fake.consent(auth.body.data.authorizationUrl);
    const res = await t.http.get(callback.pathname + callback.search).set('cookie', cookies);
    if (res.status >= 400) throw new Error(`callback answered ${res.status}: ${res.text}`);
  }

  beforeAll(async () => {
    await t.app.listen(0, '127.0.0.1');
    server = t.app.getHttpServer();
    openapi = (await request(server as never).get('/api/docs-json')).body as OpenApiDocument;

    // Team 1: connected to one site. Team 2: waiting for a site choice among two.
    connected = await t.member('owner');
    const admin = await t.member('admin', connected.teamId);
    const reader = await t.member('member', connected.teamId);
    fake.account = FakeAtlassian.account('acme', 1);
    await connect(connected);
    pending = await t.member('owner');
    fake.account = FakeAtlassian.account('multi', 2);
    cloudIds.push(...fake.account.sites.map((s) => s.id));
    await connect(pending);
    const outsider = await t.member('owner');
    const ghost = await t.tokenFor('00000000-0000-4000-8000-000000000000');
    const expired = await t.tokenFor(connected.userId, -60);
    members.push(connected, admin, reader, pending, outsider);
    for (const m of [connected, admin, pending]) {
      const auth = await t.http.post(`${BASE}/oauth/authorize`).set(m.headers).send({ returnTo: 'http://localhost:5173/settings' });
      const [name, value] = String(auth.headers['set-cookie']?.[0] ?? '=').split(';')[0].split('=');
      flows.push({ state: new URL(auth.body.data.authorizationUrl).searchParams.get('state') ?? '', cookie: [name, value] });
    }
    tokens.push(connected.token, admin.token, reader.token, pending.token, outsider.token, ghost, expired);
    teamIds.push(connected.teamId, pending.teamId, outsider.teamId);

    // One statement that dumps every table (whatever later migrations add), ordered.
    const tables: { name: string }[] = await t.dataSource.query(
      `SELECT table_name AS name FROM information_schema.tables
        WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`);
    snapshotSql = 'SELECT ' + tables
      .map(({ name }) => `(SELECT coalesce(json_agg(x ORDER BY x::text), '[]') FROM "${name}" x) AS "${name}"`)
      .join(', ');
    last = await snapshot();
  }, 60_000);

  afterAll(async () => {
    if (process.env.FC_STATS) console.log([...seen].sort().map(([k, v]) => `${v}\t${k}`).join('\n'));
    server = undefined;
  });

  const requestArb = (endpoint: Endpoint): fc.Arbitrary<BadRequest> => {
    const queryKey = fc.oneof(
      fc.constantFrom('code', 'state', 'error', 'error_description', 'iss', 'verify', 'returnTo', 'siteUrl', 'state[]', '__proto__'),
      printable(10),
    );
    const queryValue = fc.oneof(fc.constantFrom(...flows.map((f) => f.state)), printable(40), fc.constantFrom('true', 'false', '1', '', 'access_denied'), fc.string({ unit: 'grapheme', maxLength: 10 }));
    const authorizationArb = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...tokens).map((tok) => `Bearer ${tok}`) },
      { weight: 1, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: printable().map((s) => `Bearer ${s}`) },
      { weight: 1, arbitrary: printable() },
      { weight: 1, arbitrary: fc.constantFrom(...tokens).map((tok) => `bearer   ${tok.slice(0, -3)}   `) },
    );
    const teamIdArb = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...teamIds) },
      { weight: 1, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.uuid() },
      { weight: 1, arbitrary: printable(40) },
      { weight: 1, arbitrary: fc.constantFrom(...teamIds).map((id) => ` ${id.toUpperCase()} `) },
      { weight: 1, arbitrary: fc.constantFrom(...teamIds).map((id) => `${id}, ${id}`) },
    );
    return fc.record({
      method: fc.oneof(
        { weight: 6, arbitrary: fc.constant(endpoint.method) },
        { weight: 1, arbitrary: fc.constantFrom<Method>('get', 'post', 'put', 'delete', 'patch') },
      ),
      query: fc.tuple(
        fc.option(fc.tuple(fc.constant('state'), queryValue), { freq: 3 }),
        fc.option(fc.tuple(fc.constantFrom('code', 'error'), queryValue), { freq: 3 }),
        fc.array(fc.tuple(queryKey, queryValue), { maxLength: 4 }),
      ).map(([state, codeOrError, rest]) => [state, codeOrError, ...rest].filter((p): p is [string, string] => p !== null)),
      // Not URL-encoded at all: stray %, &, = and brackets.
      rawQuery: fc.oneof({ weight: 4, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.constantFrom('%', '%E0%A4%A', 'a[b]=c', 'a[][]=1&a=2', 'state=%ZZ', '&&==&') }),
      // Mostly a real member with their own team (so the input reaches the handler), else a mix.
      credentials: fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom(...members).map((m) => ({ authorization: `Bearer ${m.token}`, teamId: m.teamId as string | undefined })) },
        { weight: 2, arbitrary: fc.record({ authorization: authorizationArb, teamId: teamIdArb }) },
      ),
      cookies: fc.array(
        fc.tuple(
          fc.oneof(fc.stringMatching(/^[0-9a-f]{16}$/).map((h) => `jc_jira_oauth_${h}`), printable(12).filter((s) => /^[\w-]+$/.test(s)),
            fc.constantFrom(...flows.map((f) => f.cookie[0]))),
          fc.oneof(fc.constantFrom(...flows.map((f) => f.cookie[1])), printable(40).map((s) => s.replace(/[;,\s"\\]/g, '')), fc.constantFrom('j:{"a":1}', 'j:[1,2]', 'j:null', '%E0%A4%A', 's:abc.def')),
        ),
        { maxLength: 3 },
      ),
      contentType: fc.oneof(
        { weight: 4, arbitrary: fc.constant('application/json') },
        fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/json; charset=latin1',
          'application/problem+json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x',
          'application/json; charset=utf-16'),
        fc.constant(undefined),
        printable(30),
      ),
      body: fc.oneof(
        { weight: 2, arbitrary: fc.record({ siteUrl: jsonish(), returnTo: jsonish() }, { requiredKeys: [] }).map((b) => JSON.stringify(b)) },
        { weight: 2, arbitrary: fc.record({ cloudId: fc.oneof(jsonish(), fc.constantFrom(...cloudIds)) }).map((b) => JSON.stringify(b)) },
        { weight: 1, arbitrary: fc.record({ siteUrl: jsonish(), returnTo: jsonish(), cloudId: jsonish(), other: jsonish() }, { requiredKeys: [] }).map((b) => JSON.stringify(b)) },
        { weight: 2, arbitrary: fc.json({ maxDepth: 3 }) },
        { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 80 }) },
        { weight: 1, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: fc.constantFrom('{"siteUrl":', '[]', 'null', '"x"', '{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{"x":1}}}', 'x'.repeat(40_000)) },
      ),
      extraHeaders: fc.array(
        fc.tuple(fc.constantFrom('x-request-id', 'x-forwarded-for', 'accept', 'accept-encoding', 'origin', 'content-encoding'), printable(40)),
        { maxLength: 2 },
      ),
    });
  };

  async function send(endpoint: Endpoint, r: BadRequest): Promise<request.Response> {
    const qs = r.query.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
    const query = [qs, r.rawQuery].filter(Boolean).join('&');
    let req = request(server as never)[r.method](endpoint.path + (query ? `?${query}` : ''));
    for (const [k, v] of r.extraHeaders) req = req.set(k, v);
    const { authorization, teamId } = r.credentials;
    if (authorization !== undefined) req = req.set('authorization', authorization);
    if (teamId !== undefined) req = req.set('x-team-id', teamId);
    if (r.cookies.length) req = req.set('cookie', r.cookies.map(([k, v]) => `${k}=${v}`).join('; '));
    if (r.contentType !== undefined) req = req.set('content-type', r.contentType);
    return r.body === undefined ? req : req.send(r.body);
  }

  const seen = new Map<string, number>();
  async function check(res: request.Response, label: string, r: BadRequest, endpoint?: Endpoint): Promise<void> {
    // FC_STATS=1 prints how often each endpoint answered what, to check the runs reach the handlers.
    const outcome = `${label} ${res.status >= 400 ? (JSON.parse(res.text) as { code?: string }).code : ''}`;
    seen.set(outcome, (seen.get(outcome) ?? 0) + 1);
    expect(res.status, `${label}: ${res.text}\nrequest: ${JSON.stringify(r).slice(0, 2000)}\nlogs: ${t.logs.text.slice(-2000)}`).toBeLessThan(500);
    const now = await snapshot();
    if (res.status >= 400) {
      expect(res.headers['content-type'], label).toMatch(/^application\/problem\+json/);
      const problem = JSON.parse(res.text) as { code?: unknown; status?: unknown };
      expect(typeof problem.code, `${label}: ${res.text}`).toBe('string');
      expect(problem.status, label).toBe(res.status);
      if (endpoint && endpoint.method === r.method && openapi.paths[endpoint.path]) {
        expect(documentedCodes(openapi, endpoint.path, r.method, res.status), `${label}: undocumented code ${problem.code}`)
          .toContain(problem.code);
      }
      expect(now, `${label}: a rejected request changed rows`).toBe(last);
    }
    last = now;
  }

  for (const endpoint of ENDPOINTS) {
    it(`${endpoint.method.toUpperCase()} ${endpoint.path}: no 5xx, problem JSON, no rows changed on 4xx`, async () => {
      await fc.assert(
        fc.asyncProperty(requestArb(endpoint), async (r) => {
          const res = await send(endpoint, r);
          await check(res, `${r.method.toUpperCase()} ${endpoint.name} ${res.status}`, r, endpoint);
        }),
        { numRuns: NUM_RUNS, seed: SEED, endOnFailure: true },
      );
    }, 60_000);
  }

  it('unknown routes and methods: 404/405 problem JSON, never 5xx', async () => {
    const segment = fc.oneof(
      fc.constantFrom('api', 'integrations', 'jira', 'oauth', 'status', 'site', '..', '%2e%2e', 'health', 'metrics', 'docs'),
      printable(12).map(encodeURIComponent),
    );
    const unknown = fc.array(segment, { minLength: 1, maxLength: 5 })
      .map((parts) => `/${parts.join('/')}`)
      .filter((path) => {
        const bare = path.replace(/\/+$/, '');
        return !ENDPOINTS.some((e) => e.path === bare) && !/^\/(health|metrics|api\/docs)/.test(path);
      });
    await fc.assert(
      fc.asyncProperty(unknown, requestArb({ name: 'unknown', method: 'get', path: '/' }), async (path, r) => {
        const res = await send({ name: 'unknown', method: r.method, path }, r);
        await check(res, `${r.method.toUpperCase()} ${path} ${res.status}`, r);
        expect(res.status, path).toBeGreaterThanOrEqual(400);
      }),
      { numRuns: NUM_RUNS, seed: SEED, endOnFailure: true },
    );
  }, 60_000);
});
