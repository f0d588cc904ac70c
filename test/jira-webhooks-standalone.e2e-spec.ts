import { describe, expect } from 'vitest';
import type { JiraConnectionEventPayload } from '../src/integrations/jira/jira.events.js';
import { JiraWebhookDispatcher } from '../src/integrations/jira/webhooks/jira-webhook.dispatcher.js';
import { JiraWebhookLifecycle } from '../src/integrations/jira/webhooks/jira-webhook-lifecycle.service.js';
import { JiraWebhookRenewalJob } from '../src/integrations/jira/webhooks/jira-webhook-renewal.job.js';
import { fileFixtures } from './helpers/fixtures.js';
import { NotificationReceiver } from './helpers/notification-receiver.js';
import { connect } from './helpers/oauth-flow.js';
import { waitFor } from './helpers/webhook-probe.js';

const PATH = '/api/integrations/jira/webhooks';
const { test, useApp } = fileFixtures();

/*
 * The standalone server: subscriptions from JIRA_WEBHOOK_EVENTS / JIRA_WEBHOOK_JQL, no handler
 * code; every received event is forwarded to the product's backend as a signed, durable
 * notification (NOTIFY_WEBHOOK_URL), recorded in the same transaction as the inbox row.
 */
describe('standalone server: configured subscriptions, events forwarded as notifications', () => {
  const receiver = new NotificationReceiver();
  test.beforeAll(() => receiver.start());
  test.afterAll(() => receiver.stop());
  const t = useApp(() => ({
    env: {
      JIRA_WEBHOOK_URL: 'https://hooks.example.test/api/integrations/jira/webhooks',
      JIRA_WEBHOOK_EVENTS: 'jira:issue_created, comment_created',
      JIRA_WEBHOOK_JQL: 'project IN (ABC, DEF)',
      JIRA_WEBHOOK_JOB_INTERVAL_SECONDS: '0',
      JIRA_WEBHOOK_POLL_MS: '50',
      NOTIFY_WEBHOOK_URL: receiver.url,
      NOTIFY_WEBHOOK_SECRET: 'whsec_test_0123456789abcdefghijklmnopqrstuvwxyz',
      NOTIFY_POLL_INTERVAL_MS: '50',
    },
  }));

  test('registers the configured events and forwards each delivery once, with the team and Jira\'s identifier', async ({ fake }) => {
    const m = await t.member('owner');
    const { res } = await connect(t, fake, m);
    const cloudId = res.body.data.site.cloudId as string;
    const [hook] = await waitFor(() => (fake.webhooks.live(cloudId).length === 1 ? fake.webhooks.live(cloudId) : null), 'registration');
    expect(hook).toMatchObject({ events: ['comment_created', 'jira:issue_created'], jqlFilter: 'project IN (ABC, DEF)' });
    await waitFor(async () => (await t.dataSource.query(`SELECT 1 FROM jira_webhook_registrations WHERE state = 'active'`)).length === 1, 'active');

    const d = (await fake.webhooks.delivery(cloudId, 'comment_created', { issueKey: 'DEF-5', data: { comment: { id: '1', body: 'hi' } } }))!;
    for (let i = 0; i < 3; i++) expect((await t.http.post(PATH).set(d.headers).send(d.body)).status).toBe(200);
    const forwarded = await waitFor(() => {
      const hits = receiver.received.filter((r) => r.body.type === 'jira.webhook' && r.status === 200);
      return hits.length > 0 ? hits : null;
    }, 'notification');
    expect(forwarded[0].body).toMatchObject({
      type: 'jira.webhook',
      teamId: m.teamId,
      data: { webhookIdentifier: d.deliveryId, webhookEvent: 'comment_created', cloudId, matchedWebhookIds: [hook.id] },
    });
    expect((forwarded[0].body.data.payload as { comment: { body: string } }).comment.body).toBe('hi');
    const outbox = (await t.dataSource.query(`SELECT count(*)::int AS n FROM jira_notification_outbox WHERE type = 'jira.webhook'`)) as { n: number }[];
    expect(outbox[0].n).toBe(1);
  });
});

describe('standalone server with JIRA_WEBHOOK_EVENTS: the inbox is polled', () => {
  const t = useApp({ env: { JIRA_WEBHOOK_EVENTS: 'jira:issue_created', JIRA_WEBHOOK_JQL: 'project = ABC', JIRA_WEBHOOK_URL: 'https://hooks.example.test/api/integrations/jira/webhooks' } });

  test('polls the webhook inbox', () => {
    expect(t.app.get(JiraWebhookDispatcher).polling).toBe(true);
  });
});

describe('standalone server without JIRA_WEBHOOK_EVENTS', () => {
  const t = useApp({ env: { JIRA_WEBHOOK_EVENTS: undefined, JIRA_WEBHOOK_URL: undefined } });

  test('registers nothing and says so in the status', async ({ fake }) => {
    const mark = fake.webhooks.ops.length; // the fake is the file's: the first describe registered there
    const m = await t.member('owner');
    const { res } = await connect(t, fake, m);
    expect(res.body.data.status).toBe('connected');
    const status = await t.http.get('/api/integrations/jira/oauth/status').set(m.headers);
    expect(status.body.data.webhooks).toEqual({ state: 'disabled', expiresAt: null, lastDeliveryAt: null });
    // What would register, run to the end: the connected-event listener and a renewal pass.
    await t.app.get(JiraWebhookLifecycle).onConnected({ teamId: m.teamId } as JiraConnectionEventPayload);
    await t.app.get(JiraWebhookRenewalJob).runOnce();
    expect(fake.webhooks.ops.slice(mark)).toEqual([]);
  });

  test('does not poll the webhook inbox (it polled every second with webhooks off)', () => {
    expect(t.app.get(JiraWebhookDispatcher).polling).toBe(false);
  });
});
