import { EventEmitter2 } from '@nestjs/event-emitter';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAdminSettings } from '../src/config/admin.config.js';
import { JiraConnectionEvent, type JiraConnectionEventPayload } from '../src/integrations/jira/jira.events.js';
import { fileFixtures } from './helpers/fixtures.js';
import { seedIntegration } from './helpers/jira-seed.js';
import { NotificationReceiver } from './helpers/notification-receiver.js';
import { connect, startFlow } from './helpers/oauth-flow.js';
import { createTestApp } from './helpers/test-app.js';

const KEY = 'adm_' + 'k'.repeat(40);
const OTHER_KEY = 'adm_' + 'o'.repeat(40);
const STATUS = '/api/integrations/jira/oauth/status';
/** The file's fake Atlassian and its app: file-scoped fixtures (test/helpers/fixtures.ts). */
const { useApp, useFake } = fileFixtures();

describe('admin API', () => {
  const fake = useFake();
  const receiver = new NotificationReceiver();
  beforeAll(() => receiver.start());
  afterAll(() => receiver.stop());
  const t = useApp(() => ({
    env: {
      JIRA_RATE_LIMIT_PER_USER: '1000',
      LOG_LEVEL: 'trace',
      ADMIN_API_KEYS: `${KEY}, ${OTHER_KEY}`,
      NOTIFY_WEBHOOK_URL: receiver.url,
      NOTIFY_WEBHOOK_SECRET: 's'.repeat(40),
      NOTIFY_POLL_INTERVAL_MS: '50',
    },
  }));
  const events: { name: string; payload: JiraConnectionEventPayload }[] = [];
  const admin = { authorization: `Bearer ${KEY}` };

  beforeAll(() => {
    const emitter = t.app.get(EventEmitter2);
    for (const name of [JiraConnectionEvent.Disconnected, JiraConnectionEvent.TeamDeleted]) {
      emitter.on(name, (payload: JiraConnectionEventPayload) => events.push({ name, payload }));
    }
  });

  it('refuses a missing key, a wrong key and a user bearer token with 401; accepts every configured key', async () => {
    const m = await t.member('owner');
    const cases: [Record<string, string>, string][] = [
      [{}, 'unauthenticated'],
      [{ authorization: `Bearer ${'x'.repeat(44)}` }, 'invalid_admin_key'],
      [{ authorization: `Bearer ${KEY.slice(0, -1)}` }, 'invalid_admin_key'],
      [{ authorization: `Basic ${KEY}` }, 'unauthenticated'],
      [{ authorization: `Bearer ${m.token}` }, 'invalid_admin_key'],
    ];
    for (const [headers, code] of cases) {
      const res = await t.http.get('/api/admin/integrations').set(headers);
      expect(res.status, JSON.stringify(headers)).toBe(401);
      expect(res.body.code).toBe(code);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    }
    expect((await t.http.delete('/api/admin/teams/x').set({ authorization: `Bearer ${m.token}` })).status).toBe(401);
    for (const key of [KEY, OTHER_KEY]) {
      expect((await t.http.get('/api/admin/integrations').set({ authorization: `Bearer ${key}` })).status).toBe(200);
    }
  });

  it('answers 404 when no key is configured, and refuses short keys at start-up', async () => {
    const bare = await createTestApp({ env: { ADMIN_API_KEYS: undefined } });
    try {
      for (const [method, path] of [['get', '/api/admin/integrations'], ['delete', '/api/admin/teams/t1'], ['put', '/api/admin/teams/t1/members/u1']] as const) {
        const res = await bare.http[method](path).set(admin).send({ role: 'member' });
        expect(res.status, path).toBe(404);
        expect(res.body.code).toBe('not_found');
      }
    } finally {
      await bare.close();
    }
    expect(() => readAdminSettings({ ADMIN_API_KEYS: `${KEY},short` })).toThrow(/entry 2 is shorter than 32/);
    expect(readAdminSettings({ ADMIN_API_KEYS: ` ${KEY} ,` }).keys).toEqual([KEY]);
  });

  it('PUT creates the team and the user and sets the role; DELETE removes the membership; both idempotent', async () => {
    const teamId = 'org_admin-put';
    const userId = 'auth0|admin-put';
    const put = await t.http.put(`/api/admin/teams/${encodeURIComponent(teamId)}/members/${encodeURIComponent(userId)}`).set(admin).send({ role: 'admin' });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body.data).toEqual({ teamId, userId, role: 'admin' });
    const headers = { authorization: `Bearer ${await t.tokenFor(userId)}`, 'x-team-id': teamId };
    expect((await t.http.get(STATUS).set(headers)).status).toBe(200);
    // Demoted: the member role may read but not connect.
    await t.http.put(`/api/admin/teams/${encodeURIComponent(teamId)}/members/${encodeURIComponent(userId)}`).set(admin).send({ role: 'member' }).expect(200);
    expect((await t.http.post('/api/integrations/jira/oauth/authorize').set(headers).send({})).body.code).toBe('insufficient_role');

    const del = await t.http.delete(`/api/admin/teams/${encodeURIComponent(teamId)}/members/${encodeURIComponent(userId)}`).set(admin);
    expect(del.body.data).toEqual({ removed: true, connectorLeft: false });
    expect((await t.http.get(STATUS).set(headers)).body.code).toBe('not_team_member');
    expect((await t.http.delete(`/api/admin/teams/${encodeURIComponent(teamId)}/members/${encodeURIComponent(userId)}`).set(admin)).body.data).toEqual({ removed: false, connectorLeft: false });

    for (const body of [{}, { role: 'superuser' }, { role: 'admin', extra: 1 }]) {
      const res = await t.http.put('/api/admin/teams/t/members/u').set(admin).send(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.code).toBe('validation_failed');
    }
    const badId = await t.http.put(`/api/admin/teams/${'x'.repeat(256)}/members/u`).set(admin).send({ role: 'member' });
    expect(badId.status).toBe(400);
    expect(badId.body.code).toBe('invalid_id');
    // Path ids of only dots (sent as such, or encoded) are refused, never a team named "..".
    for (const path of ['/api/admin/teams/../members/u', '/api/admin/teams/%2E%2E/members/u', '/api/admin/teams/./members/u',
      '/api/admin/teams/t/members/..', '/api/admin/teams/t/members/%2e']) {
      const res = await t.http.put(path).set(admin).send({ role: 'member' });
      expect(res.status, path).toBe(400);
      expect(res.body.code, path).toBe('invalid_id');
    }
    const dots = await t.http.delete('/api/admin/teams/..').set(admin);
    expect(dots.status).toBe(400);
    expect(dots.body.code).toBe('invalid_id');
    expect(await t.dataSource.query(`SELECT id FROM teams WHERE id ~ '^\\.+$'`)).toEqual([]);
  });

  it('DELETE team removes every row of the team, notifies disconnected, emits TeamDeleted, and is idempotent', async () => {
    const m = await t.member('owner');
    const colleague = await t.member('member', m.teamId);
    expect((await connect(t, fake, m)).res.status).toBe(200);
    await startFlow(t, m); // a pending OAuth state too
    const other = await t.member('owner'); // another team: untouched
    await connect(t, fake, other);

    const res = await t.http.delete(`/api/admin/teams/${m.teamId}`).set(admin);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.data).toEqual({ teamId: m.teamId, integrationDeleted: true, teamDeleted: true });

    // Every table with a team_id column (whatever features added), except the outbox, which must still send.
    const tables = (await t.dataSource.query(
      `SELECT table_name FROM information_schema.columns WHERE table_schema = current_schema() AND column_name = 'team_id' AND table_name <> 'jira_notification_outbox'`,
    )) as { table_name: string }[];
    expect(tables.map((x) => x.table_name)).toEqual(expect.arrayContaining(['jira_integrations', 'jira_oauth_states', 'team_members']));
    for (const { table_name } of tables) {
      const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM ${table_name} WHERE team_id = $1`, [m.teamId]);
      expect(n, table_name).toBe(0);
    }
    expect(await t.dataSource.query('SELECT id FROM teams WHERE id = $1', [m.teamId])).toEqual([]);
    expect((await t.http.get(STATUS).set(colleague.headers)).body.code).toBe('not_team_member');
    expect((await t.http.get(STATUS).set(other.headers)).body.data.status).toBe('connected');

    await receiver.waitFor(() => receiver.ofTeam(m.teamId).some((r) => r.body.type === 'disconnected' && r.status === 200), 'disconnected notification');
    expect(events.filter((e) => e.payload.teamId === m.teamId).map((e) => e.name)).toEqual([JiraConnectionEvent.Disconnected, JiraConnectionEvent.TeamDeleted]);

    const again = await t.http.delete(`/api/admin/teams/${m.teamId}`).set(admin);
    expect(again.status).toBe(200);
    expect(again.body.data).toEqual({ teamId: m.teamId, integrationDeleted: false, teamDeleted: false });
    // One notification, ever: sending happens only from outbox rows, and the repeat wrote none.
    const [outbox] = await t.dataSource.query(`SELECT count(*)::int AS n FROM jira_notification_outbox WHERE team_id = $1 AND type = 'disconnected'`, [m.teamId]);
    expect(outbox.n).toBe(1);
    expect(receiver.ofTeam(m.teamId).filter((r) => r.body.type === 'disconnected')).toHaveLength(1);
    expect(receiver.ofTeam(m.teamId).find((r) => r.body.type === 'disconnected')!.body.data).toMatchObject({ reason: 'team_deleted' });
    expect(events.filter((e) => e.payload.teamId === m.teamId && e.name === JiraConnectionEvent.TeamDeleted)).toHaveLength(2);
  });

  it('lists integrations page by page (keyset), filters by status, and never returns a secret', async () => {
    const seeded = await Promise.all([0, 1, 2, 3, 4].map(() => seedIntegration(t.dataSource, fake)));
    await t.dataSource.query(`UPDATE jira_integrations SET status = 'reauthorization_required', access_token = NULL, refresh_token = NULL,
      last_error_code = 'jira_reauthorization_required', last_error_at = now() WHERE team_id = ANY($1)`, [[seeded[0].teamId, seeded[3].teamId]]);
    const all = (await t.dataSource.query('SELECT count(*)::int AS n FROM jira_integrations'))[0].n as number;

    const seen: string[] = [];
    const bodies: string[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 50; pages++) {
      const res: { status: number; text: string; body: { data: { teamId: string }[]; nextCursor: string | null } } =
        await t.http.get('/api/admin/integrations').query({ limit: 2, ...(cursor ? { cursor } : {}) }).set(admin);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      bodies.push(res.text);
      expect(res.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.data.map((i: { teamId: string }) => i.teamId));
      cursor = res.body.nextCursor as string | null;
      if (!cursor) break;
    }
    expect(seen).toHaveLength(all);
    expect(new Set(seen).size).toBe(all);
    expect(seen).toEqual(expect.arrayContaining(seeded.map((s) => s.teamId)));

    const reauth = await t.http.get('/api/admin/integrations').query({ status: 'reauthorization_required', limit: 200 }).set(admin);
    bodies.push(reauth.text);
    expect(reauth.body.nextCursor).toBeNull();
    const item = reauth.body.data.find((i: { teamId: string }) => i.teamId === seeded[0].teamId);
    expect(item).toEqual({
      teamId: seeded[0].teamId, status: 'reauthorization_required', connectionType: 'oauth', site: { cloudId: seeded[0].cloudId, url: expect.any(String), name: expect.any(String) },
      connectedAt: expect.any(String), lastError: { code: 'jira_reauthorization_required', at: expect.any(String) }, accessTokenExpiresAt: expect.any(String),
      consentExpiresAt: null, connectedBy: { userId: null, leftAt: null },
    });
    expect(reauth.body.data.map((i: { teamId: string }) => i.teamId)).toEqual(expect.arrayContaining([seeded[0].teamId, seeded[3].teamId]));
    expect(reauth.body.data.every((i: { status: string }) => i.status === 'reauthorization_required')).toBe(true);

    for (const query of [{ status: 'bogus' }, { limit: '0' }, { limit: '201' }, { cursor: '!!!' }]) {
      const res = await t.http.get('/api/admin/integrations').query(query).set(admin);
      expect(res.status, JSON.stringify(query)).toBe(400);
    }

    // Leak check over this surface: no token, code or encrypted column value, and no admin key in the logs.
    const text = bodies.join('\n');
    expect(fake.issuedSecrets().filter((s) => text.includes(s))).toEqual([]);
    expect(text).not.toMatch(/v1:[\w-]+:/);
    expect(text).not.toMatch(/access_?token"|refresh_?token"/i);
    expect(t.logs.leaked([KEY, OTHER_KEY, ...fake.issuedSecrets()])).toEqual([]);
  });

  it('is documented in OpenAPI under its own security scheme, and bad input is a 4xx problem, never a 5xx', async () => {
    const doc = (await t.http.get('/api/docs-json')).body as { paths: Record<string, Record<string, { security?: unknown[] }>>; components: { securitySchemes: Record<string, unknown> } };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/admin/teams/{teamId}', '/api/admin/teams/{teamId}/members/{userId}', '/api/admin/integrations']));
    expect(doc.paths['/api/admin/teams/{teamId}'].delete.security).toEqual([{ 'admin-key': [] }]);
    expect(doc.components.securitySchemes['admin-key']).toBeDefined();

    const paths = ['/api/admin/teams/%', '/api/admin/teams/%E0%A4%A', `/api/admin/teams/${'%20'.repeat(3)}`, '/api/admin/teams/a%00b/members/u',
      '/api/admin/teams/t/members/%0A', '/api/admin/integrations?limit=abc', '/api/admin/integrations?status[]=connected', '/api/admin/integrations?cursor=%FF'];
    for (const path of paths) {
      for (const method of ['get', 'put', 'delete'] as const) {
        const res = await t.http[method](path).set(admin).send(method === 'put' ? { role: ['admin'] } : undefined);
        expect(res.status, `${method} ${path}`).toBeGreaterThanOrEqual(400);
        expect(res.status, `${method} ${path}`).toBeLessThan(500);
        expect(res.body.code, `${method} ${path}`).toEqual(expect.any(String));
      }
    }
  });
});
