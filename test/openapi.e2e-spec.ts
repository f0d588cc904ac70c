import { SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { fileFixtures } from './helpers/fixtures.js';
import { codesOf, documentedCodes, HTTP_METHODS, type OpenApiDocument, type Operation, resolve, type Schema } from './helpers/openapi-doc.js';
import type { TestMember } from './helpers/test-app.js';

/*
 * The document a SPA team generates its client from (/api/docs-json) must say what the API does:
 * its shape is checked here, and every route is probed with the failures every route of its kind
 * can meet; each answer's code must be listed for that route and status. A new route, or a new
 * guard on an old one, fails this file until its @ApiProblems(...) says so.
 */
/** The app on the file's fake Atlassian: file-scoped fixtures (test/helpers/fixtures.ts). */
const { useApp } = fileFixtures();
const AUTHORIZE = '/api/integrations/jira/oauth/authorize';
const CALLBACK = '/api/integrations/jira/oauth/callback';

describe('OpenAPI document (/api/docs-json)', () => {
  const t = useApp({ env: { JIRA_RATE_LIMIT_PER_USER: '100000', JIRA_RATE_LIMIT_CALLBACK_PER_IP: '100000' } });
  let doc: OpenApiDocument;
  let owner: TestMember;
  let reader: TestMember;
  let outsider: TestMember;
  const operations: { path: string; method: string; op: Operation }[] = [];

  beforeAll(async () => {
    doc = (await t.http.get('/api/docs-json')).body as OpenApiDocument;
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of HTTP_METHODS) if (item[method]) operations.push({ path, method, op: item[method] });
    }
    owner = await t.member('owner');
    reader = await t.member('member', owner.teamId);
    outsider = await t.member('owner');
  });

  const problemSchemas = () =>
    operations.flatMap(({ path, method, op }) =>
      Object.entries(op.responses).flatMap(([status, r]) => {
        const schema = r.content?.['application/problem+json']?.schema;
        return schema ? [{ label: `${method.toUpperCase()} ${path} ${status}`, schema }] : [];
      }));

  it('has one shared Problem schema, referenced by every problem response, with codes as enums', () => {
    expect(doc.components.schemas.Problem?.required).toEqual(expect.arrayContaining(['type', 'title', 'status', 'code']));
    expect(doc.components.schemas.ValidationProblem).toBeDefined();
    expect(problemSchemas().length).toBeGreaterThan(10);
    for (const { label, schema } of problemSchemas()) {
      expect(JSON.stringify(schema), label).toMatch(/#\/components\/schemas\/(Validation)?Problem"/);
      const codes = codesOf(doc, schema);
      expect(codes, `${label}: code must be an enum`).not.toBeNull();
      expect(codes!.length, label).toBeGreaterThan(0);
      // Every code is in the catalogue of all codes.
      for (const code of codes!) expect(resolve(doc, { $ref: '#/components/schemas/ProblemCode' }).enum, `${label} ${code}`).toContain(code);
    }
  });

  it('documents validation_failed with its errors list, and malformed_json, payload_too_large, not_found', () => {
    const validation = resolve(doc, { $ref: '#/components/schemas/ValidationProblem' });
    const errors = (validation.allOf ?? [validation]).map((s) => resolve(doc, s)).find((s) => s.properties?.errors);
    expect(errors?.required).toContain('errors');
    expect(documentedCodes(doc, AUTHORIZE, 'post', 400)).toEqual(expect.arrayContaining(['validation_failed', 'malformed_json', 'body_too_deep']));
    expect(documentedCodes(doc, AUTHORIZE, 'post', 413)).toEqual(['payload_too_large']);
    expect(resolve(doc, { $ref: '#/components/schemas/ProblemCode' }).enum).toEqual(expect.arrayContaining(['not_found', 'method_not_allowed']));
  });

  it('requires X-Team-Id exactly on team routes (not on /health, the callback or metrics)', async () => {
    expect(operations.map((o) => o.path)).not.toContain('/metrics');
    for (const { path, method, op } of operations) {
      const header = op.parameters?.find((p) => p.in === 'header' && p.name.toLowerCase() === 'x-team-id');
      const res = await t.http[method as 'get'](path).set({ authorization: owner.headers.authorization });
      const isTeamRoute = res.body?.code === 'team_header_missing';
      expect(Boolean(header?.required), `${method} ${path}`).toBe(isTeamRoute);
      if (!isTeamRoute) expect(header, `${method} ${path} should not mention X-Team-Id`).toBeUndefined();
    }
  });

  it('marks the authorize body optional and types the callback query', () => {
    const authorize = doc.paths[AUTHORIZE].post;
    expect(authorize.requestBody?.required ?? false).toBe(false);
    const query = Object.fromEntries((doc.paths[CALLBACK].get.parameters ?? []).filter((p) => p.in === 'query').map((p) => [p.name, p]));
    expect(Object.keys(query).sort()).toEqual(['code', 'error', 'error_description', 'state']);
    for (const p of Object.values(query)) expect((p.schema as Schema).type, p.name).toBe('string');
    expect(query.state.required).toBe(true);
  });

  it('lists 503 team_access_unavailable on every team route (the team access policy may not answer)', () => {
    const teamRoutes = operations.filter(({ op }) => op.parameters?.some((p) => p.in === 'header' && p.name.toLowerCase() === 'x-team-id'));
    expect(teamRoutes.length).toBeGreaterThan(3);
    for (const { path, method } of teamRoutes) {
      expect(documentedCodes(doc, path, method, 503), `${method} ${path}`).toEqual(expect.arrayContaining(['team_access_unavailable']));
    }
  });

  it('types the connection\'s verification.code and lastError.code as JiraErrorCode, and the callback\'s redirect query', () => {
    const jiraErrorCode = doc.components.schemas.JiraErrorCode;
    expect(jiraErrorCode?.enum).toEqual(expect.arrayContaining(['jira_not_connected', 'jira_reauthorization_required', 'jira_credentials_unreadable']));
    const codeOf = (dto: string) => JSON.stringify(doc.components.schemas[dto]?.properties?.code);
    for (const dto of ['VerificationDto', 'LastErrorDto', 'AdminLastErrorDto']) expect(codeOf(dto), dto).toContain('"#/components/schemas/JiraErrorCode"');

    const found = doc.paths[CALLBACK].get.responses['302'] as { 'x-redirect-query'?: Schema };
    const query = resolve(doc, found['x-redirect-query']!);
    expect(query.properties?.jira.enum).toEqual(['connected', 'pending_site_selection', 'error']);
    // Every failure of the callback's own (not the limiter's, the database's or a bug) can travel to returnTo.
    const own = Object.keys(doc.paths[CALLBACK].get.responses).filter((s) => Number(s) >= 400)
      .flatMap((s) => documentedCodes(doc, CALLBACK, 'get', Number(s)) ?? [])
      .filter((c) => !['rate_limited', 'database_unavailable', 'internal_error'].includes(c));
    expect([...(query.properties?.code.enum ?? [])].sort()).toEqual([...new Set(own)].sort());
  });

  it('documents Set-Cookie, Location and Retry-After', () => {
    expect(doc.paths[AUTHORIZE].post.responses['200'].headers).toHaveProperty('Set-Cookie');
    expect(doc.paths[CALLBACK].get.responses['302'].headers).toHaveProperty('Location');
    expect(doc.paths[CALLBACK].get.responses['302'].headers).toHaveProperty('Set-Cookie');
    for (const { path, method, op } of operations) {
      if (op.responses['429']) expect(op.responses['429'].headers, `${method} ${path}`).toHaveProperty('Retry-After');
    }
  });

  it('lists every code the API answers when each route is probed with the usual failures', async () => {
    const noExp = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(owner.userId)
      .sign(new TextEncoder().encode(process.env.AUTH_JWT_SECRET));
    const team = owner.teamId;
    const probes: { name: string; headers: Record<string, string>; body?: string; contentType?: string }[] = [
      { name: 'no token', headers: {} },
      { name: 'garbage token', headers: { authorization: 'Bearer abc.def.ghi', 'x-team-id': team } },
      { name: 'token without exp', headers: { authorization: `Bearer ${noExp}`, 'x-team-id': team } },
      { name: 'no team header', headers: { authorization: owner.headers.authorization } },
      { name: 'bad team header', headers: { authorization: owner.headers.authorization, 'x-team-id': ' ' } },
      { name: 'other team', headers: outsider.headers && { authorization: outsider.headers.authorization, 'x-team-id': team } },
      { name: 'plain member', headers: reader.headers },
      { name: 'malformed JSON', headers: owner.headers, body: '{"siteUrl":' },
      { name: 'too deep', headers: owner.headers, body: `{"a":${'['.repeat(40)}${']'.repeat(40)}}` },
      { name: 'too large', headers: owner.headers, body: JSON.stringify({ returnTo: 'x'.repeat(40_000) }) },
      { name: 'unknown field', headers: owner.headers, body: '{"unknown":1}' },
      { name: 'bad charset', headers: owner.headers, body: '{}', contentType: 'application/json; charset=latin1' },
      { name: 'bad query', headers: owner.headers },
    ];
    const undocumented: string[] = [];
    let answers = 0;
    for (const { path, method } of operations) {
      for (const probe of probes) {
        const url = probe.name === 'bad query' ? `${path}?verify=maybe&state=nonsense` : path;
        let req = t.http[method as 'get'](url).set(probe.headers);
        if (probe.body !== undefined) req = req.set('content-type', probe.contentType ?? 'application/json').send(probe.body) as typeof req;
        const res = await req;
        if (res.status < 400) continue;
        answers += 1;
        const codes = documentedCodes(doc, path, method, res.status);
        if (!codes?.includes(res.body.code)) undocumented.push(`${method.toUpperCase()} ${path} (${probe.name}): ${res.status} ${res.body.code}`);
      }
    }
    expect(answers).toBeGreaterThan(40);
    expect(undocumented).toEqual([]);
  });
});
