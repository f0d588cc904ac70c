import { EventEmitter2 } from '@nestjs/event-emitter';
import { beforeAll, describe, expect, it } from 'vitest';
import { JiraConnectionEvent } from '../src/integrations/jira/jira.events.js';
import { Clock } from '../src/integrations/jira/common/clock.js';
import { JiraWebhookDispatcher } from '../src/integrations/jira/webhooks/jira-webhook.dispatcher.js';
import { JiraWebhookLifecycle } from '../src/integrations/jira/webhooks/jira-webhook-lifecycle.service.js';
import { JiraWebhookRegistry } from '../src/integrations/jira/webhooks/jira-webhook.registry.js';
import { seedIntegration } from './helpers/jira-seed.js';
import { JiraWebhookRenewalJob } from '../src/integrations/jira/webhooks/jira-webhook-renewal.job.js';
import { FakeAtlassian } from '../src/integrations/jira/testing/fake-atlassian/fake-atlassian.js';
import type { FakeDelivery } from '../src/integrations/jira/testing/fake-atlassian/fake-webhooks.js';
import { fileFixtures } from './helpers/fixtures.js';
import { connect } from './helpers/oauth-flow.js';
import { createTestApp, type TestMember } from './helpers/test-app.js';
import { TestClock, waitFor, WebhookProbe, WebhookProbeModule } from './helpers/webhook-probe.js';
import { JobRunner } from '../src/integrations/jira/jobs/job-runner.js';

const HOOK_URL = 'https://hooks.example.test/api/integrations/jira/webhooks';
const PATH = '/api/integrations/jira/webhooks';
const DAY = 24 * 3_600_000;
const ADMIN_KEY = 'k'.repeat(20) + 'admin-key-for-tests';
/** The file's fake Atlassian and its app: file-scoped fixtures (test/helpers/fixtures.ts). */
const { useApp, useFake } = fileFixtures();

describe('managed Jira webhooks', () => {
  const clock = new TestClock();
  const fake = useFake();
  const t = useApp({
    env: { JIRA_WEBHOOK_URL: HOOK_URL, JIRA_WEBHOOK_JOB_INTERVAL_SECONDS: '0', JIRA_WEBHOOK_POLL_MS: '50',
      JIRA_WEBHOOK_RETRY_BASE_MS: '20', JIRA_WEBHOOK_MAX_ATTEMPTS: '3', ADMIN_API_KEYS: ADMIN_KEY },
    imports: [WebhookProbeModule],
    configure: (b) => b.overrideProvider(Clock).useValue(clock),
  });
  let probe: WebhookProbe;
  let owner: TestMember;
  let cloudId: string;
  const jwts: string[] = [];

  const moveClock = (ms: number) => {
    clock.offsetMs = ms;
    fake.webhooks.offsetMs = ms;
  };
  const status = async (m: TestMember) => (await t.http.get('/api/integrations/jira/oauth/status').set(m.headers)).body.data;
  const post = (d: FakeDelivery, headers: Record<string, string> = d.headers, body = d.body) => {
    if (headers.authorization) jwts.push(headers.authorization.slice(7));
    return t.http.post(PATH).set(headers).send(body);
  };
  const eventRows = async (where = 'TRUE', params: unknown[] = []) =>
    (await t.dataSource.query(`SELECT * FROM jira_webhook_events WHERE ${where}`, params)) as Record<string, unknown>[];
  const deliver = async (key: string, event = 'jira:issue_created') => {
    const d = (await fake.webhooks.delivery(cloudId, event, { issueKey: key }))!;
    expect(d).not.toBeNull();
    const res = await post(d);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return d;
  };

  beforeAll(() => {
    probe = t.app.get(WebhookProbe);
  });

  it('registers the declared subscription when a team connects, and shows it in the status', async () => {
    owner = await t.member('owner');
    const { res } = await connect(t, fake, owner);
    expect(res.body.data.status).toBe('connected');
    cloudId = res.body.data.site.cloudId;
    const hooks = await waitFor(() => (fake.webhooks.live(cloudId).length === 1 ? fake.webhooks.live(cloudId) : null), 'registration');
    expect(hooks[0]).toMatchObject({ url: HOOK_URL, events: ['jira:issue_created', 'jira:issue_updated'], jqlFilter: 'project = ABC' });
    const s = await waitFor(async () => ((await status(owner)).webhooks?.state === 'active' ? status(owner) : null), 'active status');
    expect(new Date(s.webhooks.expiresAt).getTime()).toBeGreaterThan(Date.now() + 29 * DAY);
    expect(s.webhooks.lastDeliveryAt).toBeNull();
  });

  it('registers after site selection, not before', async () => {
    fake.account = FakeAtlassian.account('multi', 2);
    const m = await t.member('owner');
    const before = fake.webhooks.count('register');
    const { res } = await connect(t, fake, m);
    expect(res.body.data.status).toBe('pending_site_selection');
    expect((await status(m)).webhooks.state).toBe('not_registered');
    expect(fake.webhooks.count('register')).toBe(before);
    const second = fake.account.sites[1].id;
    const chosen = await t.http.put('/api/integrations/jira/site').set(m.headers).send({ cloudId: second });
    expect(chosen.status).toBe(200);
    await waitFor(() => fake.webhooks.live(second).length === 1, 'registration after site selection');
    expect(fake.webhooks.live(fake.account.sites[0].id)).toEqual([]);
    fake.account = FakeAtlassian.account('acme', 1);
  });

  it('renews only when due: nothing now, a refresh when the expiry is near', async () => {
    const job = t.app.get(JiraWebhookRenewalJob);
    const refreshes = fake.webhooks.count('refresh', cloudId);
    expect((await job.runOnce()).teams).toEqual([]);
    const before = new Date((await status(owner)).webhooks.expiresAt).getTime();
    try {
      moveClock(25 * DAY);
      const report = await job.runOnce();
      expect(report.teams).toContain(owner.teamId);
      expect(fake.webhooks.count('refresh', cloudId)).toBe(refreshes + 1);
      const after = new Date((await status(owner)).webhooks.expiresAt).getTime();
      expect(after - before).toBeGreaterThan(24 * DAY);
      expect((await status(owner)).webhooks.state).toBe('active');
    } finally {
      moveClock(0);
    }
  });

  it('registers again when Jira no longer lists the webhooks', async () => {
    const [old] = fake.webhooks.live(cloudId);
    fake.webhooks.lose(cloudId);
    try {
      moveClock(27 * DAY); // past the daily check that followed the renewal above
      await t.app.get(JiraWebhookRenewalJob).runOnce();
    } finally {
      moveClock(0);
    }
    const now = fake.webhooks.live(cloudId);
    expect(now).toHaveLength(1);
    expect(now[0].id).not.toBe(old.id);
    expect(await t.http.get('/metrics').then((r) => r.text)).toMatch(/jira_webhook_renewals_total\{outcome="reregistered"\} 1/);
    // And deliveries for the new webhook reach the handler.
    const d = await deliver('ABC-100');
    expect(d.matchedWebhookIds).toEqual([now[0].id]);
    await waitFor(() => probe.handledKeys().includes('ABC-100'), 'handled after re-registration');
  });

  it('handles a signed delivery once even when Jira delivers it three times', async () => {
    const d = (await fake.webhooks.delivery(cloudId, 'jira:issue_updated', { issueKey: 'ABC-3' }))!;
    const answers = await Promise.all([post(d), post(d)]);
    answers.push(await post({ ...d, headers: { ...d.headers, 'x-atlassian-webhook-retry': '1' } }));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(answers.map((a) => a.body.data.status).sort()).toEqual(['accepted', 'duplicate', 'duplicate']);
    // The handler ran, and its outcome was recorded (the handler returns before the row is updated).
    await waitFor(async () => (await eventRows('delivery_id = $1 AND status = $2', [d.deliveryId, 'done'])).length === 1, 'done');
    await t.app.get(JiraWebhookDispatcher).drain();
    expect(probe.handledKeys().filter((k) => k === 'ABC-3')).toHaveLength(1);
    const rows = await eventRows('delivery_id = $1', [d.deliveryId]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ team_id: owner.teamId, status: 'done', webhook_event: 'jira:issue_updated' });
    const handled = probe.handled.find((e) => e.deliveryId === d.deliveryId)!;
    expect(handled).toMatchObject({ teamId: owner.teamId, cloudId, webhookEvent: 'jira:issue_updated', attempt: 1 });
    expect((await status(owner)).webhooks.lastDeliveryAt).not.toBeNull();
  });

  it('rejects unsigned, forged, expired and wrongly signed deliveries with 401 and stores nothing', async () => {
    const d = (await fake.webhooks.delivery(cloudId, 'jira:issue_created', { issueKey: 'ABC-9' }))!;
    const snapshot = async () => JSON.stringify([
      await t.dataSource.query('SELECT count(*)::int AS n FROM jira_webhook_events'),
      await t.dataSource.query('SELECT * FROM jira_webhook_registrations ORDER BY team_id'),
    ]);
    const before = await snapshot();
    const { authorization: _drop, ...unsigned } = d.headers;
    const variants: [string, Record<string, string>][] = [
      ['unsigned', unsigned],
      ['garbage', { ...d.headers, authorization: 'Bearer not-a-jwt' }],
      ['forged', { ...d.headers, authorization: `Bearer ${await fake.webhooks.jwt({ secret: 'someone-elses-secret' })}` }],
      ['expired', { ...d.headers, authorization: `Bearer ${await fake.webhooks.jwt({ expSeconds: -120 })}` }],
      ['no exp', { ...d.headers, authorization: `Bearer ${await fake.webhooks.jwt({ expSeconds: null })}` }],
      ['HS512', { ...d.headers, authorization: `Bearer ${await fake.webhooks.jwt({ alg: 'HS512' })}` }],
      ['basic', { ...d.headers, authorization: 'Basic YTpi' }],
    ];
    for (const [name, headers] of variants) {
      const res = await post(d, headers);
      expect(res.status, name).toBe(401);
      expect(res.headers['content-type'], name).toMatch(/application\/problem\+json/);
      expect(res.body.code, name).toBe('jira_webhook_unauthorized');
    }
    expect(await snapshot()).toBe(before);
    // A token within the clock tolerance is still fine.
    const late = await post(d, { ...d.headers, authorization: `Bearer ${await fake.webhooks.jwt({ expSeconds: -10 })}` });
    expect(late.status).toBe(200);
    expect(await t.http.get('/metrics').then((r) => r.text)).toMatch(/jira_webhook_deliveries_total\{outcome="rejected_signature"\} 7/);
  });

  it('resolves the team from the site and matchedWebhookIds only', async () => {
    const d = (await fake.webhooks.delivery(cloudId, 'jira:issue_created', { issueKey: 'ABC-11' }))!;
    const count = (await eventRows()).length;
    // The same ids on another site (ids are unique per site only): nobody's.
    const elsewhere = d.body.replaceAll(fake.account.sites[0].url, 'https://other.atlassian.net');
    const moved = await post(d, { ...d.headers, 'x-atlassian-webhook-identifier': 'moved-1' }, elsewhere);
    expect(moved.body.data.status).toBe('unmatched');
    const unknownIds = JSON.stringify({ ...JSON.parse(d.body), matchedWebhookIds: [999999] });
    expect((await post(d, { ...d.headers, 'x-atlassian-webhook-identifier': 'ids-1' }, unknownIds)).body.data.status).toBe('unmatched');
    // A team id in the query or a header changes nothing.
    const res = await t.http.post(`${PATH}?teamId=someone-else`).set({ ...d.headers, 'x-team-id': 'someone-else' }).send(d.body);
    expect(res.body.data.status).toBe('accepted');
    expect((await eventRows()).length).toBe(count + 1);
    expect((await eventRows('delivery_id = $1', [d.deliveryId]))[0].team_id).toBe(owner.teamId);
    // Signed but not a payload: 400 problem, nothing stored.
    const bad = await post(d, { ...d.headers, 'x-atlassian-webhook-identifier': 'bad-1' }, '{"no": "event"}');
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('jira_webhook_payload_invalid');
  });

  it('retries a handler that fails twice, then it succeeds', async () => {
    probe.failTimes.set('ABC-7', 2);
    const d = await deliver('ABC-7');
    await waitFor(async () => (await eventRows('delivery_id = $1 AND status = $2', [d.deliveryId, 'done'])).length === 1, 'third attempt');
    expect(probe.attempts.get('ABC-7')).toBe(3);
    expect(probe.handledKeys().filter((k) => k === 'ABC-7')).toHaveLength(1);
    const [row] = await eventRows('delivery_id = $1', [d.deliveryId]);
    expect(row).toMatchObject({ status: 'done', attempts: 3, last_error: null });
  });

  it('a holder whose claim was taken over (its lease lapsed) does not write the outcome over the new holder\'s', async () => {
    // Inside the handler, another instance claims the event (as after a lapsed lease): one attempt more, a new lease.
    probe.during.set('ABC-31', async (event) => {
      await t.dataSource.query(`UPDATE jira_webhook_events SET attempts = attempts + 1, locked_until = now() + interval '1 hour' WHERE id = $1`, [event.id]);
    });
    const d = await deliver('ABC-31');
    await waitFor(() => probe.handledKeys().includes('ABC-31'), 'the handler ran');
    await t.app.get(JiraWebhookDispatcher).drain();
    const [row] = await eventRows('delivery_id = $1', [d.deliveryId]);
    // Still the new holder's: pending, its attempt, its lease; not marked done by the stale one.
    expect(row).toMatchObject({ status: 'pending', attempts: 2 });
    expect(row.locked_until).not.toBeNull();
    probe.during.delete('ABC-31');
    await t.dataSource.query(`UPDATE jira_webhook_events SET status = 'done', locked_until = NULL WHERE id = $1`, [row.id]);
  });

  it('dead-letters a poison event without blocking the others', async () => {
    probe.poison.add('ABC-666');
    const poison = await deliver('ABC-666');
    for (const key of ['ABC-21', 'ABC-22', 'ABC-23']) await deliver(key);
    await waitFor(() => ['ABC-21', 'ABC-22', 'ABC-23'].every((k) => probe.handledKeys().includes(k)), 'the others handled');
    const [row] = await waitFor<Record<string, unknown>[] | null>(async () => {
      const rows = await eventRows('delivery_id = $1 AND status = $2', [poison.deliveryId, 'dead']);
      return rows.length ? rows : null;
    }, 'dead letter');
    expect(row).toMatchObject({ attempts: 3 });
    expect(String(row.last_error)).toMatch(/WebhookProbe\.onIssue: cannot handle ABC-666/);
    const admin = { authorization: `Bearer ${ADMIN_KEY}` };
    expect((await t.http.get('/api/admin/webhooks/dead-letters')).status).toBe(401);
    const listed = await t.http.get('/api/admin/webhooks/dead-letters').set(admin);
    expect(listed.status).toBe(200);
    expect(listed.body.data.map((x: { deliveryId: string }) => x.deliveryId)).toEqual([poison.deliveryId]);
    expect(listed.body.data[0]).toMatchObject({ id: String(row.id), teamId: owner.teamId, webhookEvent: 'jira:issue_created', attempts: 3 });
    expect((await t.app.get(JiraWebhookDispatcher).deadLetters()).map((x) => x.deliveryId)).toEqual([poison.deliveryId]);
    const metrics = await t.http.get('/metrics').then((r) => r.text);
    expect(metrics).toMatch(/jira_webhook_events_total\{outcome="dead_lettered"\} 1/);
    expect(metrics).toMatch(/jira_webhook_dead_letters 1/);
    // An operator fixes the cause and puts it back.
    probe.poison.delete('ABC-666');
    const retried = await t.http.post(`/api/admin/webhooks/dead-letters/${String(row.id)}/retry`).set(admin);
    expect(retried.status).toBe(200);
    expect(retried.body.data).toEqual({ requeued: true });
    const again = await t.http.post(`/api/admin/webhooks/dead-letters/${String(row.id)}/retry`).set(admin);
    expect(again.status).toBe(404);
    expect(again.body.code).toBe('dead_letter_not_found');
    await waitFor(() => probe.handledKeys().includes('ABC-666'), 'retried dead letter');
  });

  it('deletes the webhooks at Jira on disconnect, before the tokens are wiped', async () => {
    const ids = fake.webhooks.live(cloudId).map((h) => h.id);
    expect(ids).toHaveLength(1);
    const res = await t.http.delete('/api/integrations/jira/oauth/disconnect').set(owner.headers);
    expect(res.status).toBe(200);
    expect(fake.webhooks.ops.filter((o) => o.op === 'delete' && o.cloudId === cloudId).map((o) => o.ids)).toEqual([ids]);
    expect(fake.webhooks.live(cloudId)).toEqual([]);
    expect(await t.dataSource.query('SELECT * FROM jira_webhook_registrations WHERE team_id = $1', [owner.teamId])).toEqual([]);
    expect((await status(owner)).webhooks.state).toBe('not_registered');
    // Jira still delivering something in flight: accepted by nobody.
    const stale = JSON.stringify({ webhookEvent: 'jira:issue_created', matchedWebhookIds: ids, issue: { self: `${fake.account.sites[0].url}/rest/api/2/issue/1` } });
    const late = await t.http.post(PATH).set({ authorization: `Bearer ${await fake.webhooks.jwt()}`, 'content-type': 'application/json' }).send(stale);
    expect(late.body.data.status).toBe('unmatched');
  });

  it('disconnect still succeeds when Jira fails to delete', async () => {
    const m = await t.member('owner');
    fake.account = FakeAtlassian.account('flaky', 1);
    await connect(t, fake, m);
    await waitFor(async () => (await status(m)).webhooks.state === 'active', 'registration');
    fake.failNextApiRequests({ status: 500 });
    const out = await t.http.delete('/api/integrations/jira/oauth/disconnect').set(m.headers);
    expect(out.status).toBe(200);
    expect(out.body.data.wasConnected).toBe(true);
    expect(await t.http.get('/metrics').then((r) => r.text)).toMatch(/jira_webhook_registrations_total\{outcome="delete_failed"\} 1/);
    fake.account = FakeAtlassian.account('acme', 1);
  });

  it('forgets the registration on reauthorization (token gone) and on team deletion', async () => {
    const m = await t.member('owner');
    fake.account = FakeAtlassian.account('gone', 1);
    await connect(t, fake, m);
    await waitFor(async () => (await status(m)).webhooks.state === 'active', 'registration');
    const emitter = t.app.get(EventEmitter2);
    await emitter.emitAsync(JiraConnectionEvent.ReauthorizationRequired, { teamId: m.teamId, integrationId: null });
    expect((await status(m)).webhooks.state).toBe('inactive');
    await emitter.emitAsync(JiraConnectionEvent.TeamDeleted, { teamId: m.teamId, integrationId: null });
    expect(await t.dataSource.query('SELECT * FROM jira_webhook_registrations WHERE team_id = $1', [m.teamId])).toEqual([]);
    fake.account = FakeAtlassian.account('acme', 1);
  });

  it('adds a row for a connected team that has none (a registration lost to a crash): on a process\'s first run, then daily', async () => {
    // A job of its own, as a freshly started process has: this app's job has run above.
    const job = new JiraWebhookRenewalJob(t.dataSource, t.app.get(JiraWebhookLifecycle), t.app.get(JiraWebhookRegistry), clock,
      t.app.get(JobRunner, { strict: false }));
    const seeded = await seedIntegration(t.dataSource, fake); // connected, no event: no registration row
    const rowOf = async () => t.dataSource.query('SELECT state FROM jira_webhook_registrations WHERE team_id = $1', [seeded.teamId]);
    expect(await rowOf()).toEqual([]);
    await job.runOnce();
    expect(await rowOf()).toHaveLength(1);
    await t.dataSource.query('DELETE FROM jira_webhook_registrations WHERE team_id = $1', [seeded.teamId]);
    await job.runOnce(); // within a day: no backfill (it reads every integration)
    expect(await rowOf()).toEqual([]);
    try {
      moveClock(DAY + 60_000);
      await job.runOnce();
    } finally {
      moveClock(0);
    }
    expect(await rowOf()).toHaveLength(1);
  });

  it('never logs a webhook JWT or a token', () => {
    expect(jwts.length).toBeGreaterThan(5);
    expect(t.logs.leaked([...jwts, ...fake.issuedSecrets()])).toEqual([]);
  });
});

describe('subscriptions are validated at start-up', () => {
  it.each([
    [{ JIRA_WEBHOOK_EVENTS: 'jira:issue_created', JIRA_WEBHOOK_JQL: 'summary ~ "x"', JIRA_WEBHOOK_URL: HOOK_URL }, /invalid webhook JQL "summary ~ "x"": "summary" is not a field/],
    [{ JIRA_WEBHOOK_EVENTS: 'sprint_started', JIRA_WEBHOOK_JQL: 'project = A', JIRA_WEBHOOK_URL: HOOK_URL }, /sprint_started cannot be registered as a dynamic webhook/],
    [{ JIRA_WEBHOOK_EVENTS: 'jira:issue_created', JIRA_WEBHOOK_URL: HOOK_URL }, /JIRA_WEBHOOK_JQL is required/],
    [{ JIRA_WEBHOOK_EVENTS: 'jira:issue_created', JIRA_WEBHOOK_JQL: 'project = A' }, /JIRA_WEBHOOK_URL/],
  ])('refuses %o', async (env, message) => {
    await expect(createTestApp({ env: { JIRA_WEBHOOK_URL: undefined, ...env } })).rejects.toThrow(message);
  });
});
