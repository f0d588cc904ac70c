import { EventEmitter2 } from '@nestjs/event-emitter';
import { describe, expect, it } from 'vitest';
import { JiraKeepAliveJob } from '../src/integrations/jira/tokens/jira-keepalive.job.js';
import { JIRA_REAUTHORIZATION_REQUIRED } from '../src/integrations/jira/tokens/jira-token-manager.service.js';
import { fileFixtures } from './helpers/fixtures.js';
import { chainIntact, seedIntegration, storedIntegration, type SeededIntegration } from './helpers/jira-seed.js';
import { usingPostgres } from './helpers/test-db.js';

const DAY = 24 * 60 * 60_000;

/** The file's fake Atlassian and its apps: file-scoped fixtures (test/helpers/fixtures.ts). */
const { useApp, useFake } = fileFixtures();

describe('keep-alive job', () => {
  const fake = useFake();
  // Two instances of the service on one database, as two deployed replicas.
  const a = useApp();
  const b = useApp();

  /** Clears the table so each test sees only its own rows. */
  const reset = () => a.dataSource.query('DELETE FROM jira_integrations');

  it('two concurrent runners claim disjoint rows and refresh every idle integration exactly once', async () => {
    await reset();
    const idle: SeededIntegration[] = [];
    for (let i = 0; i < 6; i++) idle.push(await seedIntegration(a.dataSource, fake, { expiresInMs: 30 * 60_000, lastRefreshedAgoMs: (31 + i) * DAY }));
    const recent = await seedIntegration(a.dataSource, fake, { expiresInMs: -60_000, lastRefreshedAgoMs: 29 * DAY });
    const mark = fake.tokenRequests.length;
    fake.tokenLatencyMs = 150;
    let reports;
    try {
      reports = await Promise.all([a.app.get(JiraKeepAliveJob).runOnce(), b.app.get(JiraKeepAliveJob).runOnce()]);
    } finally {
      fake.tokenLatencyMs = 0;
    }
    const [ra, rb] = reports;
    expect(ra.claimed.filter((id) => rb.claimed.includes(id))).toEqual([]);
    expect([...ra.claimed, ...rb.claimed].sort()).toEqual(idle.map((s) => s.integrationId).sort());
    expect(ra.refreshed + rb.refreshed).toBe(6);
    if (usingPostgres()) {
      // With real row locks both replicas work at once (SKIP LOCKED hands each a different row).
      expect(ra.claimed.length).toBeGreaterThan(0);
      expect(rb.claimed.length).toBeGreaterThan(0);
    }
    const presented = fake.tokenRequests.slice(mark).map((r) => r.refreshToken);
    expect(presented.sort()).toEqual(idle.map((s) => s.refreshToken).sort());
    for (const s of idle) {
      const row = await storedIntegration(a.dataSource, s.teamId);
      expect(row.lastRefreshedAt!.getTime()).toBeGreaterThan(Date.now() - 60_000);
      expect(await chainIntact(a.dataSource, fake, s.teamId)).toBe(true);
    }
    expect((await storedIntegration(a.dataSource, recent.teamId)).refreshToken).toBe(recent.refreshToken);
    // Nothing left to do on the next pass.
    expect((await a.app.get(JiraKeepAliveJob).runOnce()).claimed).toEqual([]);
  });

  it('a transient failure is retried within the run; a dead grant becomes reauthorization_required', async () => {
    await reset();
    const flaky = await seedIntegration(a.dataSource, fake, { lastRefreshedAgoMs: 40 * DAY });
    const events: unknown[] = [];
    a.app.get(EventEmitter2).on(JIRA_REAUTHORIZATION_REQUIRED, (e: unknown) => events.push(e));
    const mark = fake.tokenRequests.length;
    fake.failNextTokenRequests({ status: 503 });
    const first = await a.app.get(JiraKeepAliveJob).runOnce();
    expect(first).toMatchObject({ claimed: [flaky.integrationId], refreshed: 1, failed: 0 });
    expect(fake.tokenRequests.slice(mark).map((r) => r.status)).toEqual([503, 200]);
    expect(await chainIntact(a.dataSource, fake, flaky.teamId)).toBe(true);

    const dead = await seedIntegration(a.dataSource, fake, { lastRefreshedAgoMs: 40 * DAY });
    fake.revokeAllGrants();
    const second = await a.app.get(JiraKeepAliveJob).runOnce();
    expect(second).toMatchObject({ claimed: [dead.integrationId], failed: 1 });
    expect(await storedIntegration(a.dataSource, dead.teamId)).toMatchObject({ status: 'reauthorization_required', refreshToken: null });
    expect(events).toEqual([{ teamId: dead.teamId, integrationId: dead.integrationId }]);
  });
});
