import { PGlite } from '@electric-sql/pglite';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pglitePoolFor } from '../../../src/database/pglite-pool.js';
import { NotificationReceiver } from '../../../test/helpers/notification-receiver.js';
import { HOST_APP, INSTALLED, installPackedPackage } from './packed.js';

/** Polls until `check` returns a truthy value (bounded: 10 s). */
async function waitUntil<T>(check: () => T | null | undefined | false, what: string): Promise<NonNullable<T>> {
  const until = Date.now() + 10_000;
  for (;;) {
    const value = check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/*
 * jira-connect, as the host's src/ imports it, is the packed tarball unpacked into
 * examples/host-app/node_modules (./packed.ts): packed before anything imports it. The host's
 * modules and the package are imported after that, in beforeAll.
 */
type JiraConnect = typeof import('jira-connect');
type JiraConnectTesting = typeof import('jira-connect/testing');
type HostApp = typeof import('../src/host-app.module.js');
type HostActivity = typeof import('../src/jira-activity.service.js');

/*
 * The example host (its own users, integer-keyed teams, API-key auth, error format and
 * DataSource) embedding JiraIntegrationModule under /integrations/jira, driven through the whole
 * connect flow against the fake Atlassian. Runs on PostgreSQL when DATABASE_URL is set (this
 * file's own clone), else on an in-memory PGlite of its own.
 */
const PREFIX = '/integrations/jira';
const HOOK_URL = 'https://host.example.test/integrations/jira/webhooks';
const TEAM = '42';
const KEYS = { alice: 'alice-api-key-0123456789', victor: 'victor-api-key-0123456789', mallory: 'mallory-api-key-0123456789' };
const as = (who: keyof typeof KEYS, team: string | null = TEAM): Record<string, string> =>
  ({ 'x-api-key': KEYS[who], ...(team === null ? {} : { 'x-team-id': team }) });

describe('examples/host-app: the module inside a host NestJS app', () => {
  let jiraConnect: JiraConnect;
  let fake: InstanceType<JiraConnectTesting['FakeAtlassian']>;
  let sha256: (value: string) => string;
  const receiver = new NotificationReceiver();
  const SECRET = 'host-notification-secret-0123456789abcdef';
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  let ds: DataSource;
  let pglite: PGlite | undefined;
  const ids: Record<string, number> = {};
  /** Every row the test writes into the host's own tables, to compare with what they hold at the end. */
  const hostRows: { users: unknown[]; teams: unknown[]; team_members: unknown[] } = { users: [], teams: [], team_members: [] };
  let activity: InstanceType<HostActivity['JiraActivity']>;

  beforeAll(async () => {
    installPackedPackage();
    jiraConnect = await import('jira-connect');
    const { FakeAtlassian } = await import('jira-connect/testing');
    const { HostAppModule }: HostApp = await import('../src/host-app.module.js');
    ({ sha256 } = await import('../src/api-key.guard.js'));
    fake = new FakeAtlassian({ redirectUri: `http://127.0.0.1${PREFIX}/oauth/callback` });
    await fake.start();
    await receiver.start();
    const database = process.env.DATABASE_URL ? { url: process.env.DATABASE_URL } : { driver: pglitePoolFor((pglite = new PGlite())) };
    const moduleRef = await Test.createTestingModule({
      imports: [HostAppModule.register({
        database,
        atlassian: { clientId: fake.clientId, clientSecret: fake.clientSecret, redirectUri: fake.redirectUri, authBaseUrl: fake.url, apiBaseUrl: fake.url },
        encryptionKey: process.env.ENCRYPTION_KEY!,
        notifications: { webhookUrl: receiver.url, secret: SECRET, pollIntervalMs: 50 },
        webhooks: { url: HOOK_URL, pollMs: 50 },
      })],
    }).compile();
    // The host's own bootstrap: no configureApp, no cookie-parser, no global ValidationPipe.
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    http = request(app.getHttpServer());
    ds = app.get(DataSource);
    const { JiraActivity }: HostActivity = await import('../src/jira-activity.service.js');
    activity = app.get(JiraActivity);
    for (const name of Object.keys(KEYS) as (keyof typeof KEYS)[]) {
      const [row] = await ds.query('INSERT INTO users (name, api_key_hash) VALUES ($1, $2) RETURNING *', [name, sha256(KEYS[name])]);
      ids[name] = row.id;
      hostRows.users.push(row);
    }
    hostRows.teams.push(...await ds.query(`INSERT INTO teams (id, name, plan) VALUES (${Number(TEAM)}, 'Acme', 'business') RETURNING *`));
    hostRows.team_members.push(...await ds.query(
      `INSERT INTO team_members (team_id, user_id, role) VALUES ($1, $2, 'owner'), ($1, $3, 'viewer') RETURNING *`, [Number(TEAM), ids.alice, ids.victor]));
  });
  afterAll(async () => {
    await app?.close();
    await pglite?.close();
    await fake?.stop();
    await receiver.stop();
  });

  it('imports jira-connect from the packed tarball in its node_modules, with one @nestjs/core', async () => {
    const fromHostSrc = createRequire(join(HOST_APP, 'src/host-app.module.ts'));
    expect(fromHostSrc.resolve('jira-connect')).toBe(join(INSTALLED, 'dist/src/integrations/jira/index.js'));
    expect(fromHostSrc.resolve('jira-connect/testing')).toBe(join(INSTALLED, 'dist/src/integrations/jira/testing/index.js'));
    // The app runs on the package's classes (its JiraClient is the app's provider), not on our src/.
    expect(app.get(jiraConnect.JiraClient)).toBeInstanceOf(jiraConnect.JiraClient);
    const { JiraClient: fromSources } = await import('../../../src/integrations/jira/client/jira-client.js');
    expect(jiraConnect.JiraClient).not.toBe(fromSources);
    // Nest is CommonJS: every copy loaded is in the require cache, under its real path.
    const nestCores = Object.keys(createRequire(import.meta.url).cache).filter((file) => /[\\/]@nestjs[\\/]core[\\/]index\.js$/.test(file));
    expect(nestCores).toHaveLength(1);
  });

  it('runs our migrations and its own through its one DataSource: its users, teams and team_members, and only jira_* tables of ours', async () => {
    const ran = ((await ds.query('SELECT name FROM migrations')) as { name: string }[]).map((m) => m.name);
    expect(ran.sort()).toEqual(['HostSchema1766100000000', 'JiraOwnTables1771000000000', 'JobTable1773000000000', 'KeepAliveIndex1772000000000']);
    const tables = ((await ds.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`)) as
      { table_name: string }[]).map((t) => t.table_name);
    expect(tables.filter((t) => !t.startsWith('jira_')).sort()).toEqual(['migrations', 'team_members', 'teams', 'users']);
    expect(tables.filter((t) => t.startsWith('jira_')).length).toBeGreaterThanOrEqual(4);
    // The host's ids are integers; nothing of ours points at its tables.
    const [{ type }] = await ds.query(`SELECT data_type AS type FROM information_schema.columns WHERE table_name = 'teams' AND column_name = 'id'`);
    expect(type).toBe('integer');
    const foreign = await ds.query(`SELECT conname FROM pg_constraint WHERE contype = 'f' AND conrelid::regclass::text LIKE 'jira_%' AND confrelid::regclass::text NOT LIKE 'jira_%'`);
    expect(foreign).toEqual([]);
  });

  it("keeps the host's own auth and error format on the host's routes", async () => {
    const anonymous = await http.get('/me');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['content-type']).toMatch(/^application\/json/);
    expect(anonymous.body).toEqual({ error: { status: 401, message: 'Send your API key in X-Api-Key.' } });
    expect((await http.get('/me').set(as('alice', null))).body).toEqual({ id: ids.alice, name: 'alice' });
    // The route prefix moved the module: nothing is left at the standalone server's path.
    const old = await http.get('/api/integrations/jira/oauth/status').set(as('alice'));
    expect(old.status).toBe(404);
    expect(old.body.error.status).toBe(404);
  });

  it("answers problem JSON on the module's routes, with the host's users and the host's memberships", async () => {
    const problem = (res: request.Response, status: number, code: string) => {
      expect(res.status, JSON.stringify(res.body)).toBe(status);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(JSON.parse(res.text).code).toBe(code);
    };
    problem(await http.get(`${PREFIX}/oauth/status`).set('x-team-id', TEAM), 401, 'unauthenticated'); // the host's guard refused
    problem(await http.get(`${PREFIX}/oauth/status`).set(as('alice', null)), 400, 'team_header_missing');
    problem(await http.get(`${PREFIX}/oauth/status`).set(as('mallory')), 403, 'not_team_member');
    problem(await http.post(`${PREFIX}/oauth/authorize`).set(as('victor')).send({}), 403, 'insufficient_role'); // viewer = member
    problem(await http.post(`${PREFIX}/oauth/authorize`).set(as('alice')).send({ bogus: 1 }), 400, 'validation_failed');
    // Not JSON at all: the body parser refuses it before any route, so the host's filter answers.
    const garbled = await http.post(`${PREFIX}/oauth/authorize`).set(as('alice')).set('content-type', 'application/json').send('{');
    expect(garbled.status).toBe(400);
    expect(garbled.body.error.status).toBe(400);
    const status = await http.get(`${PREFIX}/oauth/status`).set(as('victor'));
    expect(status.status).toBe(200);
    expect(status.body.data.status).toBe('not_connected');
  });

  it('connects team 42 end to end: authorize, consent, callback, status, a JiraClient call from host code', async () => {
    const authorize = await http.post(`${PREFIX}/oauth/authorize`).set(as('alice')).send({ siteUrl: 'acme' });
    expect(authorize.status, JSON.stringify(authorize.body)).toBe(200);
    const cookie = ([] as string[]).concat(authorize.headers['set-cookie'] ?? []).find((c) => c.startsWith('jc_jira_oauth_'))!;
    expect(cookie).toMatch(new RegExp(`Path=${PREFIX}/oauth/callback`));

    const callback = await fake.consent(authorize.body.data.authorizationUrl);
    expect(callback.pathname).toBe(`${PREFIX}/oauth/callback`);
    // The browser comes back without the API key: the callback is the module's public route.
    const done = await http.get(callback.pathname + callback.search).set('Cookie', cookie.split(';')[0]);
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body.data).toMatchObject({ status: 'connected', site: { url: 'https://acme.atlassian.net' } });

    const status = await http.get(`${PREFIX}/oauth/status`).set(as('victor'));
    expect(status.body.data).toMatchObject({ status: 'connected', connectedBy: { userId: String(ids.alice) } });
    const [row] = await ds.query('SELECT team_id FROM jira_integrations');
    expect(row.team_id).toBe(TEAM);

    const me = await http.get(`/teams/${TEAM}/jira/myself`).set(as('alice', null));
    expect(me.status, JSON.stringify(me.body)).toBe(200);
    expect(me.body).toEqual({ accountId: fake.account.accountId });

    // The module's own outbox and worker told the host's backend, signed.
    await receiver.waitFor(() => receiver.ofTeam(TEAM).some((n) => n.body.type === 'connected'), 'connected notification');
    const connected = receiver.ofTeam(TEAM).find((n) => n.body.type === 'connected')!;
    expect(connected.body.data).toMatchObject({ connectedByUserId: String(ids.alice) });
    expect(jiraConnect.verifyNotification(SECRET, connected.raw, connected.headers[jiraConnect.NOTIFICATION_HEADERS.timestamp] as string,
      connected.headers[jiraConnect.NOTIFICATION_HEADERS.signature] as string)).toBe(true);
  });

  it("receives Jira's webhook for team 42 through the host's @OnJiraWebhook handler", async () => {
    // Registered with Jira when the team connected: the host's declared events and JQL, at its URL.
    const [site] = fake.account.sites;
    const hooks = await waitUntil(() => (fake.webhooks.live(site.id).length === 1 ? fake.webhooks.live(site.id) : null), 'registration');
    expect(hooks[0]).toMatchObject({ url: HOOK_URL, events: ['jira:issue_created', 'jira:issue_updated'], jqlFilter: 'project = ABC' });
    const d = (await fake.webhooks.delivery(site.id, 'jira:issue_updated', { issueKey: 'ABC-7' }))!;
    expect(d).not.toBeNull();
    // Jira's POST carries its JWT, not the host's API key: the route is public to the host's guard.
    const ack = await http.post(`${PREFIX}/webhooks`).set(d.headers).send(d.body);
    expect(ack.status, JSON.stringify(ack.body)).toBe(200);
    const [seen] = await waitUntil(() => (activity.ofTeam(TEAM).length > 0 ? activity.ofTeam(TEAM) : null), 'the handler');
    expect(seen).toEqual({ teamId: TEAM, issueKey: 'ABC-7', webhookEvent: 'jira:issue_updated', deliveryId: d.deliveryId });
    const shown = await http.get(`/teams/${TEAM}/jira/activity`).set(as('victor', null));
    expect(shown.body).toEqual({ activity: [seen] });
  });

  it('disconnects, and never stores a token in the clear', async () => {
    const dump = JSON.stringify(await ds.query('SELECT * FROM jira_integrations')) + JSON.stringify(await ds.query('SELECT * FROM jira_oauth_states'));
    for (const secret of fake.issuedSecrets()) expect(dump).not.toContain(secret);
    const res = await http.delete(`${PREFIX}/oauth/disconnect`).set(as('alice'));
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ status: 'not_connected', wasConnected: true });
    expect((await http.get(`${PREFIX}/oauth/status`).set(as('alice'))).body.data.status).toBe('not_connected');
    // The host's own route now meets the module's JiraError: its filter sees an HttpException with the real status.
    const me = await http.get(`/teams/${TEAM}/jira/myself`).set(as('alice', null));
    expect(me.status, JSON.stringify(me.body)).toBe(409);
    expect(me.body).toEqual({ error: { status: 409, message: expect.stringMatching(/^Connect Jira for this team first/) } });
  });

  it('leaves the host\'s own tables holding exactly the rows the host put there', async () => {
    for (const table of ['users', 'teams', 'team_members'] as const) {
      const rows = await ds.query(`SELECT * FROM ${table} ORDER BY 1, 2`);
      expect(rows, table).toEqual(hostRows[table]);
    }
  });
});
