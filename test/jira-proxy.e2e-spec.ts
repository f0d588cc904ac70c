import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type INestApplication, Module } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { Request } from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { readDatabaseSettings } from '../src/config/database.config.js';
import { createDataSource } from '../src/database/data-source.js';
import { JiraIntegrationModule, TeamAccessPolicy, type TeamRole } from '../src/integrations/jira/index.js';
import { FakeAtlassian } from '../src/integrations/jira/testing/fake-atlassian/fake-atlassian.js';
import { fileFixtures } from './helpers/fixtures.js';
import { seedIntegration, storedIntegration, type SeededIntegration } from './helpers/jira-seed.js';
import { createTestApp, type TestMember } from './helpers/test-app.js';

/*
 * The Jira proxies (docs/proxy.md) against the fake Atlassian: what reaches it is read from its
 * request log, so "nothing was sent" is a count, not a timing.
 */

const ADMIN_KEY = 'proxy-test-admin-key-0123456789abcdef0123';
const SPA = '/api/integrations/jira/proxy';
const MARKER = 'x-jira-connect-problem';
/** The first two describes share the file's fake; the host app below is another Atlassian app (its own redirect URI). */
const { test: it, useApp, useFake } = fileFixtures();

interface RawAnswer { status: number; headers: Record<string, string | string[] | undefined>; body: string }

/** A request whose target goes out byte for byte (supertest and fetch would normalize `..`). */
function raw(port: number, method: string, target: string, headers: Record<string, string>, body?: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const framing = body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) };
    const req = httpRequest({ host: '127.0.0.1', port, method, path: target, headers: { ...headers, ...framing } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const jiraCalls = (fake: FakeAtlassian, from: number) => fake.requestLog.slice(from).filter((r) => r.url.startsWith('/ex/jira/'));

describe('Jira proxies, default rules', () => {
  const fake = useFake();
  let port: number;
  let connected: SeededIntegration;
  let member: TestMember;
  const t = useApp({ env: { ADMIN_API_KEYS: ADMIN_KEY, JIRA_PROXY_RULES: undefined, JIRA_ADMIN_PROXY_RULES: undefined } });

  beforeAll(async () => {
    await t.app.listen(0, '127.0.0.1');
    port = (t.app.getHttpServer().address() as AddressInfo).port;
    connected = await seedIntegration(t.dataSource, fake); // stored token already due: refreshed on the way
    member = await t.member('member', connected.teamId);
  });

  it('a member reads /rest/api/3/myself with the team\'s token, refreshed on the way; no SPA header goes out', async () => {
    const mark = fake.requestLog.length;
    const refreshes = fake.refreshCount;
    const res = await t.http.get(`${SPA}/rest/api/3/myself`).set({ ...member.headers, cookie: 'session=spa-cookie', 'x-forwarded-for': '203.0.113.9', 'accept-language': 'fr' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ accountId: fake.account.accountId, active: true });
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers[MARKER]).toBeUndefined();
    expect(fake.refreshCount).toBe(refreshes + 1);
    const calls = jiraCalls(fake, mark);
    expect(calls.map((c) => `${c.method} ${c.url}`)).toEqual([`GET /ex/jira/${connected.cloudId}/rest/api/3/myself`]);
    const sent = calls[0].headers;
    const fresh = (await storedIntegration(t.dataSource, connected.teamId)).accessToken;
    expect(fresh).not.toBe(connected.accessToken);
    expect(sent.authorization).toBe(`Bearer ${fresh}`);
    expect(sent['accept-language']).toBe('fr');
    for (const h of ['cookie', 'x-team-id', 'x-forwarded-for', 'forwarded']) expect(sent[h]).toBeUndefined();
    expect(JSON.stringify(sent)).not.toContain(member.token);
    // Nothing of the token comes back.
    expect(JSON.stringify(res.headers) + res.text).not.toContain(fresh);
    expect(res.headers.authorization).toBeUndefined();
  });

  it('passes the query string exactly as sent', async () => {
    const query = 'jql=project%20%3D%20ABC%20ORDER%20BY%20created&maxResults=5&fields=summary,status';
    const res = await t.http.get(`${SPA}/rest/api/3/search/jql?${query}`).set(member.headers);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ path: '/rest/api/3/search/jql', cloudId: connected.cloudId, method: 'GET', query });
  });

  it('passes Jira\'s own 404 through: status, body, content type, Jira\'s headers; no marker', async () => {
    const jiraBody = '{"errorMessages":["Issue does not exist or you do not have permission to see it."],"errors":{}}';
    fake.jiraAnswers.set('GET /rest/api/3/issue/NOPE-1', { status: 404, body: jiraBody, headers: { 'x-arequestid': 'req-404', 'set-cookie': 'atlassian.xsrf.token=x', 'x-ratelimit-remaining': '99' } });
    const res = await t.http.get(`${SPA}/rest/api/3/issue/NOPE-1`).set(member.headers);
    expect(res.status).toBe(404);
    expect(res.text).toBe(jiraBody);
    expect(res.headers['content-type']).toBe('application/json;charset=UTF-8');
    expect(res.headers['x-arequestid']).toBe('req-404');
    expect(res.headers['x-ratelimit-remaining']).toBe('99');
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(res.headers[MARKER]).toBeUndefined();
  });

  it.each(['POST', 'PUT', 'PATCH', 'DELETE'])('refuses %s by default with 403 jira_proxy_forbidden, marked, nothing sent', async (method) => {
    const mark = fake.requestLog.length;
    const res = await raw(port, method, `${SPA}/rest/api/3/issue/ABC-1`, { ...member.headers, 'content-type': 'application/json' }, '{"fields":{"summary":"x"}}');
    expect(res.status).toBe(403);
    expect(res.headers[MARKER]).toBe('1');
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(res.body)).toMatchObject({ code: 'jira_proxy_forbidden' });
    expect(fake.requestLog.slice(mark)).toEqual([]);
  });

  it.each([
    ['dot-dot', '/rest/api/3/../../../oauth/token'],
    ['dot-dot to another cloud id', '/rest/api/3/../../../../other-cloud/rest/api/3/myself'],
    ['dot', '/rest/api/3/./myself'],
    ['encoded dot-dot', '/rest/api/3/%2e%2e/%2e%2e/%2e%2e/oauth/token'],
    ['upper-case encoded dot-dot', '/rest/api/3/%2E%2E/myself'],
    ['double-encoded dot-dot', '/rest/api/3/%252e%252e/%252e%252e/oauth/token'],
    ['encoded slash', '/rest/api/3/..%2f..%2f..%2foauth%2ftoken'],
    ['backslash', '/rest/api/3/..\\..\\oauth'],
    ['encoded backslash', '/rest/api/3/%5c..%5coauth'],
    ['empty segment', '/rest/api/3//myself'],
    ['protocol-relative URL', '//evil.example/rest/api/3/myself'],
    ['absolute URL', '/https://evil.example/rest/api/3/myself'],
    ['encoded absolute URL', '/https:%2f%2fevil.example%2frest%2fapi%2f3%2fmyself'],
    ['OAuth endpoint', '/oauth/token'],
    ['accessible-resources', '/oauth/token/accessible-resources'],
    ['outside the rules\' prefixes', '/rest/api/2/myself'],
    ['another REST space', '/rest/servicedeskapi/request'],
    ['encoded NUL', '/rest/api/3/my%00self'],
  ])('refuses a path trick (%s) with 400 invalid_jira_path, nothing sent', async (_name, path) => {
    const mark = fake.requestLog.length;
    const res = await raw(port, 'GET', `${SPA}${path}`, member.headers);
    expect({ status: res.status, code: (JSON.parse(res.body) as { code?: string }).code, marker: res.headers[MARKER] })
      .toEqual({ status: 400, code: 'invalid_jira_path', marker: '1' });
    expect(fake.requestLog.slice(mark)).toEqual([]);
  });

  it('refuses another team\'s user (403 not_team_member, marked); each user reaches only their own team\'s site', async () => {
    const other = await seedIntegration(t.dataSource, fake, { account: FakeAtlassian.account('other', 1), expiresInMs: 30 * 60_000 });
    const outsider = await t.member('owner', other.teamId);
    const mark = fake.requestLog.length;
    const refused = await t.http.get(`${SPA}/rest/api/3/myself`).set({ ...outsider.headers, 'x-team-id': connected.teamId });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('not_team_member');
    expect(refused.headers[MARKER]).toBe('1');
    expect(fake.requestLog.slice(mark)).toEqual([]);
    const own = await t.http.get(`${SPA}/rest/api/3/project/search`).set(outsider.headers);
    expect(own.status).toBe(200);
    expect(jiraCalls(fake, mark).map((c) => c.url)).toEqual([`/ex/jira/${other.cloudId}/rest/api/3/project/search`]);
  });

  it('an outsider naming a team whose token is due: 403, and the token is neither refreshed nor sent (the prefetch only reads)', async () => {
    const due = await seedIntegration(t.dataSource, fake, { account: FakeAtlassian.account('due-outsider', 1) }); // stored token already due
    const outsider = await t.member('owner', connected.teamId);
    const mark = fake.requestLog.length;
    const refreshes = fake.refreshCount;
    const refused = await t.http.get(`${SPA}/rest/api/3/myself`).set({ ...outsider.headers, 'x-team-id': due.teamId });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('not_team_member');
    expect(fake.refreshCount).toBe(refreshes);
    expect(fake.requestLog.slice(mark)).toEqual([]);
    expect((await storedIntegration(t.dataSource, due.teamId)).accessToken).toBe(due.accessToken);
  });

  it('answers 401 without a bearer token, marked, nothing sent', async () => {
    const mark = fake.requestLog.length;
    const res = await t.http.get(`${SPA}/rest/api/3/myself`).set('x-team-id', connected.teamId);
    expect(res.status).toBe(401);
    expect(res.headers[MARKER]).toBe('1');
    expect(fake.requestLog.slice(mark)).toEqual([]);
  });

  it('answers 409 jira_not_connected for a team without Jira', async () => {
    const lonely = await t.member('owner');
    const res = await t.http.get(`${SPA}/rest/api/3/myself`).set(lonely.headers);
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('jira_not_connected');
    expect(res.headers[MARKER]).toBe('1');
  });

  it('a 429 with a long Retry-After: every caller answered at once with 503 atlassian_rate_limited, one upstream call', async () => {
    const limited = await seedIntegration(t.dataSource, fake, { account: FakeAtlassian.account('limited', 1), expiresInMs: 30 * 60_000 });
    const owner = await t.member('owner', limited.teamId);
    fake.jiraAnswers.set('GET /rest/api/3/project/search', {
      status: 429, body: '{"errorMessages":["Rate limit exceeded."]}', headers: { 'retry-after': '3600', 'ratelimit-reason': 'jira-quota-tenant-based' },
    });
    try {
      const mark = fake.requestLog.length;
      const started = Date.now();
      const first = await t.http.get(`${SPA}/rest/api/3/project/search`).set(owner.headers);
      const rest = await Promise.all([1, 2, 3].map(() => t.http.get(`${SPA}/rest/api/3/myself`).set(owner.headers)));
      const admin = await t.http.post(`/api/admin/teams/${limited.teamId}/jira/rest/api/3/issue`).set('authorization', `Bearer ${ADMIN_KEY}`).send({ fields: {} });
      const elapsed = Date.now() - started;
      for (const res of [first, ...rest, admin]) {
        expect(res.status).toBe(503);
        expect(res.body.code).toBe('atlassian_rate_limited');
        expect(res.headers[MARKER]).toBe('1');
        expect(Number(res.headers['retry-after'])).toBeGreaterThan(3000);
      }
      expect(jiraCalls(fake, mark).map((c) => c.url)).toEqual([`/ex/jira/${limited.cloudId}/rest/api/3/project/search`]);
      // Far from Retry-After's hour: nobody waited for it (loose bound for a loaded machine).
      expect(elapsed).toBeLessThan(10_000);
    } finally {
      fake.jiraAnswers.delete('GET /rest/api/3/project/search');
    }
  });

  it('retries a GET after a short 429 (two upstream calls, then 200) but passes a POST\'s 429 back as Jira\'s (one call)', async () => {
    const team = await seedIntegration(t.dataSource, fake, { account: FakeAtlassian.account('retry', 1), expiresInMs: 30 * 60_000 });
    const owner = await t.member('owner', team.teamId);
    let mark = fake.requestLog.length;
    fake.failNextApiRequests({ status: 429, retryAfter: '1' });
    const read = await t.http.get(`${SPA}/rest/api/3/myself`).set(owner.headers);
    expect(read.status).toBe(200);
    expect(read.headers[MARKER]).toBeUndefined();
    expect(jiraCalls(fake, mark)).toHaveLength(2);

    const other = await seedIntegration(t.dataSource, fake, { account: FakeAtlassian.account('noretry', 1), expiresInMs: 30 * 60_000 });
    mark = fake.requestLog.length;
    fake.failNextApiRequests({ status: 429, retryAfter: '1' });
    const write = await t.http.post(`/api/admin/teams/${other.teamId}/jira/rest/api/3/issue`).set('authorization', `Bearer ${ADMIN_KEY}`).send({ fields: {} });
    expect(write.status).toBe(429);
    expect(write.headers[MARKER]).toBeUndefined();
    expect(write.headers['retry-after']).toBe('1');
    expect(write.body).toEqual({ errorMessages: ['scripted fault'] });
    expect(jiraCalls(fake, mark)).toHaveLength(1);
  });

  describe('admin proxy', () => {
    it('refuses a missing or wrong key with 401, marked, nothing sent', async () => {
      const mark = fake.requestLog.length;
      const none = await t.http.get(`/api/admin/teams/${connected.teamId}/jira/rest/api/3/myself`);
      expect(none.status).toBe(401);
      expect(none.headers[MARKER]).toBe('1');
      const wrong = await t.http.get(`/api/admin/teams/${connected.teamId}/jira/rest/api/3/myself`).set('authorization', `Bearer ${'x'.repeat(40)}`);
      expect(wrong.status).toBe(401);
      expect(wrong.body.code).toBe('invalid_admin_key');
      expect(fake.requestLog.slice(mark)).toEqual([]);
    });

    it('with the key, writes under /rest/ with body and content type as sent, logs one line without the body', async () => {
      const mark = fake.requestLog.length;
      const body = '{"body":{"type":"doc","version":1,"content":[]},"secretish":"do-not-log-me"}';
      const res = await t.http.post(`/api/admin/teams/${connected.teamId}/jira/rest/api/3/issue/ABC-1/comment?expand=renderedBody`)
        .set({ authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json; charset=utf-8', 'x-atlassian-token': 'no-check' })
        .send(body);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ method: 'POST', path: '/rest/api/3/issue/ABC-1/comment', query: 'expand=renderedBody', contentType: 'application/json; charset=utf-8', body });
      const [call] = jiraCalls(fake, mark);
      expect(call.headers['x-atlassian-token']).toBe('no-check');
      expect(call.headers.authorization).not.toContain(ADMIN_KEY);
      const line = await t.logs.waitFor((l) => l.msg === 'Jira proxy write' && l.path === '/rest/api/3/issue/ABC-1/comment');
      expect(line).toMatchObject({ teamId: connected.teamId, actor: 'admin-key', method: 'POST', status: 200 });
      expect(t.logs.text).not.toContain('do-not-log-me');
      expect(t.logs.leaked([ADMIN_KEY, member.token, ...fake.issuedSecrets()])).toEqual([]);
    });

    it('refuses path tricks and non-REST paths the same way', async () => {
      const mark = fake.requestLog.length;
      for (const path of ['/rest/api/3/%2e%2e/%2e%2e/%2e%2e/oauth/token', '/oauth/token', '/rest/../oauth/token']) {
        const res = await raw(port, 'POST', `/api/admin/teams/${connected.teamId}/jira${path}`, { authorization: `Bearer ${ADMIN_KEY}` });
        expect(res.status).toBe(400);
        expect(JSON.parse(res.body).code).toBe('invalid_jira_path');
      }
      expect(fake.requestLog.slice(mark)).toEqual([]);
    });

    it('answers jira_not_connected for an unknown team', async () => {
      const res = await t.http.get('/api/admin/teams/no-such-team/jira/rest/api/3/myself').set('authorization', `Bearer ${ADMIN_KEY}`);
      expect(res.status).toBe(409);
      expect(res.body.code).toBe('jira_not_connected');
    });
  });

  // Last of this app: the fake can only revoke every grant at once.
  it('answers 409 jira_reauthorization_required once Atlassian has revoked the grant', async () => {
    const revoked = await seedIntegration(t.dataSource, fake, { account: FakeAtlassian.account('revoked', 1) });
    fake.revokeAllGrants();
    const owner = await t.member('owner', revoked.teamId);
    const again = await t.http.get(`${SPA}/rest/api/3/myself`).set(owner.headers);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('jira_reauthorization_required');
    expect(again.headers[MARKER]).toBe('1');
  });

  it('never forwarded a caller\'s token, cookie or team header, in any test above', () => {
    for (const r of fake.requestLog) {
      expect(r.headers.cookie).toBeUndefined();
      expect(r.headers['x-team-id']).toBeUndefined();
      expect(JSON.stringify(r.headers)).not.toContain(member.token);
      expect(JSON.stringify(r.headers)).not.toContain(ADMIN_KEY);
    }
  });
});

describe('Jira proxy with a rule allowing one write', () => {
  // The file's, after the first describe revoked its grants: this one's grant is minted after.
  const fake = useFake();
  let connected: SeededIntegration;
  const t = useApp({
    env: {
      JIRA_PROXY_RULES: 'GET /rest/api/3/**, POST /rest/api/3/issue/*/comment, DELETE /rest/api/3/issue/* admin',
      JIRA_PROXY_MAX_REQUEST_KB: '1',
      JIRA_PROXY_MAX_RESPONSE_KB: '1',
      JIRA_PROXY_RATE_LIMIT_PER_USER: '8',
    },
  });

  beforeAll(async () => {
    connected = await seedIntegration(t.dataSource, fake, { expiresInMs: 30 * 60_000 });
  });

  it('lets a member add a comment, and only that write; logs it', async () => {
    const member = await t.member('member', connected.teamId);
    const mark = fake.requestLog.length;
    const comment = await t.http.post(`${SPA}/rest/api/3/issue/ABC-7/comment`).set(member.headers).set('content-type', 'application/json').send('{"body":"hi"}');
    expect(comment.status).toBe(200);
    expect(comment.body).toMatchObject({ method: 'POST', path: '/rest/api/3/issue/ABC-7/comment', body: '{"body":"hi"}', contentType: 'application/json' });
    const create = await t.http.post(`${SPA}/rest/api/3/issue`).set(member.headers).send({ fields: {} });
    expect(create.status).toBe(403);
    expect(create.body.code).toBe('jira_proxy_forbidden');
    const del = await t.http.delete(`${SPA}/rest/api/3/issue/ABC-7`).set(member.headers);
    expect(del.status).toBe(403);
    expect(del.body).toMatchObject({ code: 'jira_proxy_forbidden', requiredRole: 'admin' });
    expect(jiraCalls(fake, mark).map((c) => `${c.method} ${c.url.split('/rest/')[1]}`)).toEqual(['POST api/3/issue/ABC-7/comment']);
    const line = await t.logs.waitFor((l) => l.msg === 'Jira proxy write');
    expect(line).toMatchObject({ teamId: connected.teamId, actor: member.userId, method: 'POST', path: '/rest/api/3/issue/ABC-7/comment', status: 200 });
  });

  it('lets an admin use the rule that names the admin role', async () => {
    const admin = await t.member('admin', connected.teamId);
    const del = await t.http.delete(`${SPA}/rest/api/3/issue/ABC-8`).set(admin.headers);
    expect(del.status).toBe(200);
    expect(del.body).toMatchObject({ method: 'DELETE', path: '/rest/api/3/issue/ABC-8' });
  });

  it('takes the path as a generated client encodes the parameter (rest%2Fapi%2F3%2Fmyself)', async () => {
    const member = await t.member('member', connected.teamId);
    const res = await t.http.get(`${SPA}/rest%2Fapi%2F3%2Fproject%2Fsearch`).set(member.headers);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ path: '/rest/api/3/project/search', cloudId: connected.cloudId });
  });

  it('answers 502 jira_response_too_large when Jira announces more than JIRA_PROXY_MAX_RESPONSE_KB, and cuts off an unannounced one', async () => {
    const member = await t.member('member', connected.teamId);
    const big = JSON.stringify({ big: 'x'.repeat(2000) });
    fake.jiraAnswers.set('GET /rest/api/3/field', { status: 200, body: big, headers: { 'content-length': String(big.length) } });
    const res = await t.http.get(`${SPA}/rest/api/3/field`).set(member.headers);
    expect(res.status).toBe(502);
    expect(res.body).toMatchObject({ code: 'jira_response_too_large', jiraStatus: 200 });
    expect(res.headers[MARKER]).toBe('1');
    // Chunked: the status is out before the size is known, so the connection is cut rather than a truncated body passed as whole.
    fake.jiraAnswers.set('GET /rest/api/3/field', { status: 200, body: big });
    await expect(t.http.get(`${SPA}/rest/api/3/field`).set(member.headers)).rejects.toThrow(/socket hang up|aborted|ECONNRESET/);
  });

  it('refuses a body over JIRA_PROXY_MAX_REQUEST_KB with 413, nothing sent', async () => {
    const member = await t.member('member', connected.teamId);
    const mark = fake.requestLog.length;
    const res = await t.http.post(`${SPA}/rest/api/3/issue/ABC-7/comment`).set(member.headers).set('content-type', 'application/json')
      .send(JSON.stringify({ body: 'x'.repeat(2000) }));
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('payload_too_large');
    expect(res.headers[MARKER]).toBe('1');
    expect(fake.requestLog.slice(mark)).toEqual([]);
  });

  it('limits each user to JIRA_PROXY_RATE_LIMIT_PER_USER requests per window (429 rate_limited, marked)', async () => {
    const member = await t.member('member', connected.teamId);
    const statuses: number[] = [];
    for (let i = 0; i < 9; i++) statuses.push((await t.http.get(`${SPA}/rest/api/3/myself`).set(member.headers)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 429]);
    const limited = await t.http.get(`${SPA}/rest/api/3/myself`).set(member.headers);
    expect(limited.body.code).toBe('rate_limited');
    expect(limited.headers[MARKER]).toBe('1');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('refuses invalid rules at start-up with a clear message', async () => {
    await expect(createTestApp({ env: { ...fake.env(), JIRA_PROXY_RULES: 'GET /rest/api/3/**, FETCH /rest/api/3/issue' } }))
      .rejects.toThrow(/JIRA_PROXY_RULES: "FETCH \/rest\/api\/3\/issue" names the method "FETCH"/);
    await expect(createTestApp({ env: { ...fake.env(), JIRA_ADMIN_PROXY_RULES: '* /oauth/**' } }))
      .rejects.toThrow(/JIRA_ADMIN_PROXY_RULES: .* must start with \/rest\//);
  });
});

describe('Jira proxy in a host app (JiraIntegrationModule.forRoot)', () => {
  const fake = new FakeAtlassian({ redirectUri: 'http://127.0.0.1/jira/oauth/callback' });
  const apps: INestApplication[] = [];
  const as = { 'x-user': 'host-user', 'x-team-id': 'host-team' };

  class OneTeamPolicy extends TeamAccessPolicy {
    async roleOf(teamId: string, userId: string): Promise<TeamRole | null> {
      return teamId === as['x-team-id'] && userId === as['x-user'] ? 'owner' : null;
    }
  }

  async function boot(jiraProxy: boolean): Promise<ReturnType<typeof request>> {
    @Module({
      imports: [
        TypeOrmModule.forRootAsync({
          useFactory: () => ({}),
          dataSourceFactory: async () => {
            const ds = createDataSource(readDatabaseSettings());
            await ds.initialize();
            await ds.runMigrations();
            return ds;
          },
        }),
        EventEmitterModule.forRoot(),
        JiraIntegrationModule.forRoot({
          routePrefix: 'jira',
          ...(jiraProxy ? { jiraProxy } : {}),
          atlassian: { clientId: fake.clientId, clientSecret: fake.clientSecret, redirectUri: fake.redirectUri, authBaseUrl: fake.url, apiBaseUrl: fake.url },
          encryption: { currentKey: process.env.ENCRYPTION_KEY! },
          teamAccessPolicy: new OneTeamPolicy(),
          currentUser: (req: Request) => req.get('x-user') ?? null,
          proxy: { rules: 'GET /rest/api/3/**, POST /rest/api/3/issue/*/comment' },
        }),
      ],
    })
    class HostModule {}
    // The host keeps Nest's default body parsers: the proxy sends what they parsed.
    const app = await (await Test.createTestingModule({ imports: [HostModule] }).compile()).createNestApplication({ logger: false }).init();
    apps.push(app);
    return request(app.getHttpServer());
  }

  beforeAll(() => fake.start());
  afterAll(async () => {
    for (const app of apps) await app.close();
    await fake.stop();
  });

  it('is not mounted unless asked for', async () => {
    const http = await boot(false);
    const res = await http.get('/jira/proxy/rest/api/3/myself').set(as);
    expect(res.status).toBe(404);
  });

  it('with jiraProxy: true, proxies under the route prefix, with the module\'s rules', async () => {
    const http = await boot(true);
    const notConnected = await http.get('/jira/proxy/rest/api/3/myself').set(as);
    expect(notConnected.status).toBe(409);
    expect(notConnected.headers[MARKER]).toBe('1');
    expect(JSON.parse(notConnected.text).code).toBe('jira_not_connected');
    const authorize = await http.post('/jira/oauth/authorize').set(as).send({});
    const cookie = ([] as string[]).concat(authorize.headers['set-cookie'] ?? []).find((c) => c.startsWith('jc_jira_oauth_'))!;
    const callback = await fake.consent(authorize.body.data.authorizationUrl);
    expect((await http.get(callback.pathname + callback.search).set('Cookie', cookie.split(';')[0])).status).toBe(200);

    const myself = await http.get('/jira/proxy/rest/api/3/myself').set(as);
    expect(myself.status).toBe(200);
    expect(myself.body.accountId).toBe(fake.account.accountId);
    const comment = await http.post('/jira/proxy/rest/api/3/issue/H-1/comment').set(as).send({ body: 'from the host' });
    expect(comment.status).toBe(200);
    expect(comment.body).toMatchObject({ method: 'POST', contentType: 'application/json', body: '{"body":"from the host"}' });
    const forbidden = await http.post('/jira/proxy/rest/api/3/issue').set(as).send({ fields: {} });
    expect(forbidden.status).toBe(403);
    expect(JSON.parse(forbidden.text).code).toBe('jira_proxy_forbidden');
  });
});
