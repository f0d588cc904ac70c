import { createHmac } from 'node:crypto';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { JiraConnectionEvent, type JiraConnectionEventPayload } from '../src/integrations/jira/jira.events.js';
import { JiraTokenManager } from '../src/integrations/jira/tokens/jira-token-manager.service.js';
import { NotificationOutbox } from '../src/integrations/jira/notifications/notification-outbox.js';
import { verifyNotification } from '../src/integrations/jira/notifications/notification-signature.js';
import { NotificationWorker } from '../src/integrations/jira/notifications/notification.worker.js';
import { FakeAtlassian } from '../src/integrations/jira/testing/fake-atlassian/fake-atlassian.js';
import { waitUntil } from './helpers/free-port.js';
import { seedIntegration } from './helpers/jira-seed.js';
import { NotificationReceiver } from './helpers/notification-receiver.js';
import { connect } from './helpers/oauth-flow.js';
import { createTestApp, type TestApp } from './helpers/test-app.js';

const SECRET = 'whsec_test_0123456789abcdefghijklmnopqrstuvwxyz';

describe('notifications to the product backend (outbox + worker)', () => {
  const fake = new FakeAtlassian();
  const receiver = new NotificationReceiver();
  let env: Record<string, string>;
  let t: TestApp;
  const events: { name: string; payload: JiraConnectionEventPayload }[] = [];

  beforeAll(async () => {
    await fake.start();
    await receiver.start();
    env = {
      ...fake.env(),
      JIRA_RATE_LIMIT_PER_USER: '1000',
      JIRA_REFRESH_MAX_ATTEMPTS: '1',
      NOTIFY_WEBHOOK_URL: receiver.url,
      NOTIFY_WEBHOOK_SECRET: SECRET,
      NOTIFY_POLL_INTERVAL_MS: '50',
      NOTIFY_RETRY_BASE_MS: '50',
      NOTIFY_RETRY_MAX_MS: '300',
      NOTIFY_TIMEOUT_MS: '3000',
    };
    t = await createTestApp({ env });
    const emitter = t.app.get(EventEmitter2);
    for (const name of Object.values(JiraConnectionEvent)) {
      emitter.on(name, (payload: JiraConnectionEventPayload) => events.push({ name, payload }));
    }
  });
  afterAll(async () => {
    await t?.close();
    await receiver.stop();
    await fake.stop();
  });
  beforeEach(() => {
    receiver.mode = 'ok';
    fake.account = FakeAtlassian.account('acme', 1);
  });

  const typesOf = (teamId: string) => receiver.ofTeam(teamId).filter((r) => r.status === 200).map((r) => r.body.type);

  /*
   * Absences are proven through the outbox, not by waiting: a notification is sent only from an
   * outbox row written in the change's own transaction, and every claim of a row adds one to its
   * `attempts` (in the claiming statement). So the rows say what can ever be sent, and a delivered
   * row whose `attempts` equals the requests received will never be sent again.
   */
  const outboxTypes = async (teamId: string): Promise<string[]> =>
    ((await t.dataSource.query(`SELECT type FROM jira_notification_outbox WHERE team_id = $1 ORDER BY occurred_at`, [teamId])) as { type: string }[])
      .map((r) => r.type);
  /** Waits until every row of `ids` is marked delivered: from then on no sender holds or claims them. */
  const settled = (app: TestApp, ids: string[]) => waitUntil(async () => {
    const [row] = await app.dataSource.query(`SELECT count(*)::int AS n FROM jira_notification_outbox WHERE id = ANY($1) AND status = 'delivered'`, [ids]);
    return row.n === ids.length;
  }, 20_000, 'every outbox row marked delivered');

  it('connect, site selection and disconnect each notify once, signed, and emit the in-process event', async () => {
    const m = await t.member('owner');
    const { res } = await connect(t, fake, m);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    await receiver.waitFor(() => typesOf(m.teamId).length === 1, 'connected');
    const [connected] = receiver.ofTeam(m.teamId);
    const site = fake.account.sites[0];
    expect(connected.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/), type: 'connected', teamId: m.teamId, occurredAt: expect.any(String),
      data: { cloudId: site.id, siteUrl: site.url, siteName: site.name, connectedByUserId: m.userId },
    });
    expect(Math.abs(Date.parse(connected.body.occurredAt) - Date.now())).toBeLessThan(60_000);
    expect(connected.headers['content-type']).toBe('application/json');
    expect(connected.headers['x-jira-connect-event-id']).toBe(connected.body.id);

    // Verifiable with nothing but the secret: HMAC-SHA256 over "<timestamp>.<raw body>".
    const timestamp = connected.headers['x-jira-connect-timestamp'] as string;
    expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(60);
    const expected = createHmac('sha256', SECRET).update(`${timestamp}.${connected.raw}`).digest('hex');
    expect(connected.headers['x-jira-connect-signature']).toBe(`v1=${expected}`);
    expect(verifyNotification(SECRET, connected.raw, timestamp, connected.headers['x-jira-connect-signature'] as string)).toBe(true);
    expect(verifyNotification('x'.repeat(40), connected.raw, timestamp, connected.headers['x-jira-connect-signature'] as string)).toBe(false);
    expect(verifyNotification(SECRET, connected.raw.replace(m.teamId, 'other'), timestamp, connected.headers['x-jira-connect-signature'] as string)).toBe(false);
    expect(verifyNotification(SECRET, connected.raw, String(Number(timestamp) - 3600), `v1=${expected}`)).toBe(false);
    expect(events).toContainEqual({ name: JiraConnectionEvent.Connected, payload: expect.objectContaining({ teamId: m.teamId, cloudId: site.id }) });

    const disconnect = await t.http.delete('/api/integrations/jira/oauth/disconnect').set(m.headers);
    expect(disconnect.status).toBe(200);
    await t.http.delete('/api/integrations/jira/oauth/disconnect').set(m.headers); // idempotent: no second event
    await receiver.waitFor(() => typesOf(m.teamId).length === 2, 'disconnected');
    expect(receiver.ofTeam(m.teamId)[1].body.data).toEqual({ reason: 'disconnected_by_user', cloudId: site.id });
    expect(events.filter((e) => e.name === JiraConnectionEvent.Disconnected && e.payload.teamId === m.teamId)).toHaveLength(1);

    fake.account = FakeAtlassian.account('multi', 2);
    const owner = await t.member('owner');
    expect((await connect(t, fake, owner)).res.body.data.status).toBe('pending_site_selection');
    const chosen = fake.account.sites[1];
    expect((await t.http.put('/api/integrations/jira/site').set(owner.headers).send({ cloudId: chosen.id })).status).toBe(200);
    await receiver.waitFor(() => typesOf(owner.teamId).length === 1, 'site_selected');
    // Nothing was, or will be, sent for the pending state: the outbox holds the site selection only.
    expect(await outboxTypes(owner.teamId)).toEqual(['site_selected']);
    expect(typesOf(owner.teamId)).toEqual(['site_selected']);
    expect(events).toContainEqual({ name: JiraConnectionEvent.SiteSelected, payload: expect.objectContaining({ teamId: owner.teamId, cloudId: chosen.id }) });
  });

  it('the token manager notifies recovered after a failed refresh, and reauthorization_required once', async () => {
    const tokens = t.app.get(JiraTokenManager);
    const s = await seedIntegration(t.dataSource, fake, { expiresInMs: -1000 });
    fake.failNextTokenRequests({ status: 503, grant: 'refresh_token' });
    await expect(tokens.getAccessToken(s.teamId)).rejects.toMatchObject({ code: 'atlassian_unavailable' });
    await tokens.getAccessToken(s.teamId);
    await receiver.waitFor(() => typesOf(s.teamId).length === 1, 'recovered');
    expect(receiver.ofTeam(s.teamId)[0].body).toMatchObject({ type: 'recovered', data: { cloudId: s.cloudId } });

    const dead = await seedIntegration(t.dataSource, fake, { expiresInMs: -1000 });
    fake.failNextTokenRequests({ status: 400, body: { error: 'invalid_grant' }, grant: 'refresh_token' });
    await expect(tokens.getAccessToken(dead.teamId)).rejects.toMatchObject({ code: 'jira_reauthorization_required' });
    await expect(tokens.getAccessToken(dead.teamId)).rejects.toMatchObject({ code: 'jira_reauthorization_required' });
    await receiver.waitFor(() => typesOf(dead.teamId).length === 1, 'reauthorization_required');
    expect(await outboxTypes(dead.teamId)).toEqual(['reauthorization_required']); // once, not per refused call
    expect(typesOf(dead.teamId)).toEqual(['reauthorization_required']);
  });

  it('a change rolled back notifies nothing', async () => {
    const outbox = t.app.get(NotificationOutbox);
    await expect(t.dataSource.transaction(async (em) => {
      await outbox.enqueue(em, { type: 'connected', teamId: 'rolled-back-team' });
      throw new Error('change failed');
    })).rejects.toThrow('change failed');
    // No row, so nothing can ever be sent: a whole send cycle afterwards proves it too.
    expect(await outboxTypes('rolled-back-team')).toEqual([]);
    await t.app.get(NotificationWorker).drain();
    expect(receiver.ofTeam('rolled-back-team')).toEqual([]);
  });

  /** Enqueues `n` notifications for one team through `app`, each in a transaction of its own. */
  async function enqueueMany(app: TestApp, teamId: string, n: number): Promise<string[]> {
    const outbox = app.app.get(NotificationOutbox);
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      ids.push((await app.dataSource.transaction((em) => outbox.enqueue(em, { type: 'jira.issue_updated', teamId, data: { seq: i } })))!);
    }
    return ids;
  }

  it('an endpoint that fails for a while, then recovers, gets every event exactly once by id (two instances sending)', async () => {
    const second = await createTestApp({ env });
    try {
      receiver.mode = 'failing';
      const ids = await enqueueMany(t, 'team-flaky', 15);
      ids.push(...(await enqueueMany(second, 'team-flaky', 15)));
      await receiver.waitFor(() => new Set(receiver.ofTeam('team-flaky').map((r) => r.body.id)).size === ids.length
        && receiver.ofTeam('team-flaky').length >= 2 * ids.length, 'every event refused at least once');
      receiver.mode = 'ok';
      await receiver.waitFor(() => ids.every((id) => receiver.acceptedCount(id) >= 1), 'every event accepted');
      await settled(t, ids); // then the requests counted below are all there will ever be
      for (const id of ids) expect(receiver.acceptedCount(id), id).toBe(1);
      // Every row delivered, after at least one refusal, its attempts counting exactly the requests made.
      const rows = (await t.dataSource.query(`SELECT id, status, attempts FROM jira_notification_outbox WHERE team_id = 'team-flaky'`)) as
        { id: string; status: string; attempts: number }[];
      expect(rows.filter((r) => r.status !== 'delivered' || r.attempts < 2)).toEqual([]);
      for (const r of rows) expect(receiver.received.filter((x) => x.body.id === r.id)).toHaveLength(r.attempts);
      const metrics = (await t.http.get('/metrics')).text + (await second.http.get('/metrics')).text;
      const total = (result: string) => [...metrics.matchAll(new RegExp(`notification_deliveries_total\\{type="jira.issue_updated",result="${result}"\\} (\\d+)`, 'g'))]
        .reduce((sum, m) => sum + Number(m[1]), 0);
      expect(total('delivered')).toBe(ids.length);
      expect(total('retry')).toBeGreaterThanOrEqual(2 * ids.length);
      expect(metrics).toMatch(/notification_outbox_oldest_pending_seconds 0/);
    } finally {
      await second.close();
    }
  });

  it('a restart while the endpoint is down, or mid-request, loses nothing', async () => {
    const first = await createTestApp({ env });
    receiver.mode = 'hanging';
    // Pause the long-lived app's worker: only `first` sends during the restart.
    await t.app.get(NotificationWorker).onModuleDestroy();
    const ids = await enqueueMany(first, 'team-restart', 5);
    await receiver.waitFor(() => receiver.ofTeam('team-restart').length >= 1, 'a request in flight');
    await first.close(); // mid-request: the claimed rows are handed back
    receiver.mode = 'failing';
    const pending = await t.dataSource.query(`SELECT count(*)::int AS n FROM jira_notification_outbox WHERE team_id = 'team-restart' AND status = 'pending'`);
    expect(pending[0].n).toBe(ids.length);

    const restarted = await createTestApp({ env });
    try {
      await receiver.waitFor(() => receiver.ofTeam('team-restart').some((r) => r.status === 500), 'a refused attempt after the restart');
      receiver.mode = 'ok';
      await receiver.waitFor(() => ids.every((id) => receiver.acceptedCount(id) >= 1), 'every event accepted after the restart');
      await settled(t, ids);
      for (const id of ids) expect(receiver.acceptedCount(id), id).toBe(1);

      // A process killed mid-POST leaves its claim behind: once the lease runs out, the row is sent.
      const [crashed] = await t.dataSource.query(
        `INSERT INTO jira_notification_outbox (type, team_id, occurred_at, next_attempt_at, attempts, locked_until)
         VALUES ('connected', 'team-crashed', now(), now(), 1, now() - interval '1 second') RETURNING id`);
      const [leased] = await t.dataSource.query(
        `INSERT INTO jira_notification_outbox (type, team_id, occurred_at, next_attempt_at, attempts, locked_until)
         VALUES ('connected', 'team-crashed', now(), now(), 1, now() + interval '1 hour') RETURNING id`);
      await receiver.waitFor(() => receiver.acceptedCount(crashed.id) === 1, 'the expired claim delivered');
      // A whole send cycle after the insert, and the live claim is untouched: a claim would have
      // added an attempt (whichever instance or cycle made it).
      await restarted.app.get(NotificationWorker).drain();
      const [still] = await t.dataSource.query(`SELECT attempts, status FROM jira_notification_outbox WHERE id = $1`, [leased.id]);
      expect(still).toEqual({ attempts: 1, status: 'pending' });
      expect(receiver.acceptedCount(leased.id)).toBe(0); // still claimed by its (presumed live) sender
    } finally {
      await restarted.close();
    }
  });

  it('leak check: no token, code or signing secret in any notification or log line', async () => {
    const everything = receiver.received.map((r) => r.raw + JSON.stringify(r.headers)).join('\n');
    expect(receiver.received.length).toBeGreaterThan(0);
    expect(fake.issuedSecrets().filter((secret) => everything.includes(secret))).toEqual([]);
    expect(everything).not.toContain(SECRET);
    expect(t.logs.leaked([...fake.issuedSecrets(), SECRET])).toEqual([]);
  });
});
