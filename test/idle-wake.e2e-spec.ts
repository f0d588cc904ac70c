import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotificationType } from '../src/integrations/jira/notifications/notification-types.js';
import { NotificationOutbox, onNotificationsCommitted } from '../src/integrations/jira/notifications/notification-outbox.js';
import { FakeAtlassian } from '../src/integrations/jira/testing/fake-atlassian/fake-atlassian.js';
import { JiraWebhookDispatcher } from '../src/integrations/jira/webhooks/jira-webhook.dispatcher.js';
import { fileFixtures } from './helpers/fixtures.js';
import { NotificationReceiver } from './helpers/notification-receiver.js';
import { connect } from './helpers/oauth-flow.js';
import { createTestApp, type TestApp } from './helpers/test-app.js';
import { waitFor, WebhookProbe, WebhookProbeModule } from './helpers/webhook-probe.js';

/*
 * Issue 18, item 7: an idle instance does not poll its queues every second. With the polls at
 * 10 minutes, a notification still leaves as soon as the transaction that wrote it commits, and a
 * failed notification or webhook handler is retried at its scheduled time: only the commit hook
 * and the retry timers can explain that within these tests' bounds (10 s).
 */
/** The second describe's fake Atlassian and app: file-scoped fixtures (test/helpers/fixtures.ts). */
const { useApp, useFake } = fileFixtures();

describe('notification worker: woken by the commit, not by the poll', () => {
  const fake = new FakeAtlassian();
  const receiver = new NotificationReceiver();
  let t: TestApp;

  beforeAll(async () => {
    await fake.start();
    await receiver.start();
    t = await createTestApp({ env: {
      ...fake.env(), NOTIFY_WEBHOOK_URL: receiver.url, NOTIFY_WEBHOOK_SECRET: 'whsec_test_0123456789abcdefghijklmnopqrstuvwxyz',
      NOTIFY_POLL_INTERVAL_MS: '600000', NOTIFY_RETRY_BASE_MS: '100', NOTIFY_RETRY_MAX_MS: '200',
    } });
  });
  afterAll(async () => {
    await t?.close();
    await receiver.stop();
    await fake.stop();
  });

  it('calls the commit listener after the outermost COMMIT, at once outside a transaction, never after a rollback', async () => {
    const outbox = t.app.get(NotificationOutbox);
    const m = await t.member('owner');
    let calls = 0;
    const stop = onNotificationsCommitted(t.dataSource, () => calls++);
    try {
      const input = { type: NotificationType.Recovered, teamId: m.teamId, data: { test: true } };
      await t.dataSource.transaction(async (em) => {
        await outbox.enqueue(em, input);
        await em.transaction(async (inner) => outbox.enqueue(inner, input)); // a savepoint: not yet committed
        expect(calls).toBe(0);
      });
      expect(calls).toBe(1);
      await expect(t.dataSource.transaction(async (em) => {
        await outbox.enqueue(em, input);
        throw new Error('rolled back');
      })).rejects.toThrow('rolled back');
      expect(calls).toBe(1);
      await outbox.enqueue(t.dataSource.manager, input);
      expect(calls).toBe(2);
    } finally {
      stop();
    }
    await receiver.waitFor(() => receiver.ofTeam(m.teamId).filter((n) => n.status === 200).length === 3, 'the three committed rows', 10_000);
  });

  it('sends a connect notification without waiting for the 10-minute poll, and retries a failed one when due', async () => {
    const m = await t.member('owner');
    receiver.mode = 'failing';
    expect((await connect(t, fake, m)).res.status).toBe(200);
    await receiver.waitFor(() => receiver.ofTeam(m.teamId).some((n) => n.status === 500), 'the first, failed attempt', 10_000);
    receiver.mode = 'ok';
    await receiver.waitFor(() => receiver.ofTeam(m.teamId).some((n) => n.status === 200 && n.body.type === 'connected'), 'the retry', 10_000);
    // The receiver answered before the worker records the outcome.
    const row = await waitFor(async () => {
      const [r] = await t.dataSource.query(`SELECT status, attempts FROM jira_notification_outbox WHERE team_id = $1 AND type = 'connected'`, [m.teamId]);
      return r.status === 'delivered' ? r : null;
    }, 'the row marked delivered', 10_000);
    expect(row.attempts).toBeGreaterThanOrEqual(2);
  });
});

describe('webhook dispatcher: a retry runs when due, not at the next poll', () => {
  const fake = useFake();
  const t = useApp({
    env: { JIRA_WEBHOOK_URL: 'https://hooks.example.test/api/integrations/jira/webhooks', JIRA_WEBHOOK_JOB_INTERVAL_SECONDS: '0',
      JIRA_WEBHOOK_POLL_MS: '600000', JIRA_WEBHOOK_RETRY_BASE_MS: '50', JIRA_WEBHOOK_MAX_ATTEMPTS: '3' },
    imports: [WebhookProbeModule],
  });

  it('handles an event whose handler failed twice, with the poll at 10 minutes', async () => {
    const probe = t.app.get(WebhookProbe);
    const m = await t.member('owner');
    const { res } = await connect(t, fake, m);
    const cloudId = res.body.data.site.cloudId as string;
    await waitFor(() => fake.webhooks.live(cloudId).length === 1, 'registration');
    probe.failTimes.set('ABC-8', 2);
    const d = (await fake.webhooks.delivery(cloudId, 'jira:issue_created', { issueKey: 'ABC-8' }))!;
    expect((await t.http.post('/api/integrations/jira/webhooks').set(d.headers).send(d.body)).status).toBe(200);
    await waitFor(() => probe.handledKeys().includes('ABC-8'), 'the third attempt', 10_000);
    expect(probe.attempts.get('ABC-8')).toBe(3);
    expect(t.app.get(JiraWebhookDispatcher).polling).toBe(true);
  });
});
