import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JiraWebhookLifecycle } from '../src/integrations/jira/webhooks/jira-webhook-lifecycle.service.js';
import { FakeAtlassian } from '../src/integrations/jira/testing/fake-atlassian/fake-atlassian.js';
import { seedIntegration } from './helpers/jira-seed.js';
import { createTestApp } from './helpers/test-app.js';
import { usingPostgres } from './helpers/test-db.js';
import { WebhookProbeModule } from './helpers/webhook-probe.js';
import { startWebhookWorker, type WebhookWorker } from './helpers/webhook-workers.js';

/*
 * A process that acknowledged a delivery and is killed (SIGKILL) while its handler runs: the
 * event was stored before the 200, so the next process handles it once the claim's lease lapses.
 * On PGlite the database is a directory that the processes open one after the other.
 */
describe('a crash between acknowledgement and handling', () => {
  let fake: FakeAtlassian;
  let dir: string;
  const workers: WebhookWorker[] = [];
  let env: Record<string, string>;

  beforeAll(async () => {
    fake = await new FakeAtlassian().start();
    dir = mkdtempSync(join(tmpdir(), 'jc-webhook-crash-'));
    env = {
      ...fake.env(),
      ...(usingPostgres() ? {} : { DATA_DIR: dir }),
      JIRA_WEBHOOK_URL: 'https://hooks.example.test/api/integrations/jira/webhooks',
      JIRA_WEBHOOK_JOB_INTERVAL_SECONDS: '0',
      JIRA_WEBHOOK_POLL_MS: '200',
      JIRA_WEBHOOK_HANDLER_TIMEOUT_MS: '2000',
      JIRA_WEBHOOK_LEASE_MS: '3000',
    };
  });
  afterAll(async () => {
    for (const w of workers) await w.kill().catch(() => undefined);
    await fake?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('handles the event after a restart, exactly once', async () => {
    // A connected team with its webhook registered at Jira.
    const setup = await createTestApp({ env, imports: [WebhookProbeModule] });
    const seeded = await seedIntegration(setup.dataSource, fake, { expiresInMs: 3_600_000 });
    expect(await setup.app.get(JiraWebhookLifecycle).ensureNow(seeded.teamId)).toBe(true);
    await setup.close();
    expect(fake.webhooks.live(seeded.cloudId)).toHaveLength(1);

    const first = await startWebhookWorker({ ...env, WORKER_MODE: 'hang' });
    workers.push(first);
    const d = (await fake.webhooks.delivery(seeded.cloudId, 'jira:issue_created', { issueKey: 'ABC-42' }))!;
    const ack = await fake.webhooks.deliverTo(`http://127.0.0.1:${first.port}/api/integrations/jira/webhooks`, d);
    expect(ack.status).toBe(200);
    expect(JSON.parse(ack.body).data.status).toBe('accepted');
    expect((await first.next('started')).deliveryId).toBe(d.deliveryId);
    await first.kill();

    const second = await startWebhookWorker({ ...env, WORKER_MODE: 'record' });
    workers.push(second);
    const handled = await second.next('handled', 30_000);
    expect(handled).toMatchObject({ deliveryId: d.deliveryId, attempt: 2 });
    await second.close();

    const check = await createTestApp({ env, imports: [WebhookProbeModule] });
    try {
      const rows = (await check.dataSource.query('SELECT status, attempts FROM jira_webhook_events WHERE delivery_id = $1', [d.deliveryId])) as
        { status: string; attempts: number }[];
      expect(rows).toEqual([{ status: 'done', attempts: 2 }]);
    } finally {
      await check.close();
    }
  }, 180_000);
});
