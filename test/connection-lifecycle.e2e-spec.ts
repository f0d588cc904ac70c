import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Clock } from '../src/integrations/jira/common/clock.js';
import { ReconsentNoticeJob } from '../src/integrations/jira/lifecycle/reconsent-notice.job.js';
import { JiraTokenManager } from '../src/integrations/jira/tokens/jira-token-manager.service.js';
import { fileFixtures } from './helpers/fixtures.js';
import { seedIntegration } from './helpers/jira-seed.js';
import { ShiftedClock } from './helpers/shifted-clock.js';
import { NotificationReceiver } from './helpers/notification-receiver.js';
import { connect, integrationRow } from './helpers/oauth-flow.js';
import { type OpenApiDocument, resolve } from './helpers/openapi-doc.js';

const DAY = 24 * 60 * 60_000;
const YEAR = 365 * DAY;
const KEY = 'adm_' + 'l'.repeat(40);
const STATUS = '/api/integrations/jira/oauth/status';
/** The file's fake Atlassian and its app: file-scoped fixtures (test/helpers/fixtures.ts). */
const { useApp, useFake } = fileFixtures();

interface OutboxRow { id: string; type: string; data: Record<string, unknown> }

describe('connections that outlive a moment: consent expiry and a connector who leaves', () => {
  const fake = useFake();
  const receiver = new NotificationReceiver();
  const clock = new ShiftedClock();
  const admin = { authorization: `Bearer ${KEY}` };
  beforeAll(() => receiver.start());
  afterAll(() => receiver.stop());
  const t = useApp(() => ({
    env: { JIRA_RATE_LIMIT_PER_USER: '1000', ADMIN_API_KEYS: KEY, NOTIFY_WEBHOOK_URL: receiver.url,
      NOTIFY_WEBHOOK_SECRET: 's'.repeat(40), NOTIFY_POLL_INTERVAL_MS: '50' },
    configure: (b) => b.overrideProvider(Clock).useValue(clock),
  }));

  const outbox = async (teamId: string, type: string): Promise<OutboxRow[]> =>
    (await t.dataSource.query('SELECT id, type, data FROM jira_notification_outbox WHERE team_id = $1 AND type = $2 ORDER BY occurred_at, id',
      [teamId, type])) as OutboxRow[];

  it('status shows consentExpiresAt = consent + 365 days, kept across refreshes and reset by a reconnect', async () => {
    clock.offsetMs = 0;
    const m = await t.member('owner');
    const before = Date.now();
    expect((await connect(t, fake, m)).res.status).toBe(200);
    const after = Date.now();
    const first = Date.parse((await t.http.get(STATUS).set(m.headers)).body.data.consentExpiresAt);
    expect(first).toBeGreaterThanOrEqual(before + YEAR);
    expect(first).toBeLessThanOrEqual(after + YEAR);

    // A refresh rotates the tokens, not the consent.
    await t.dataSource.query(`UPDATE jira_integrations SET access_token_expires_at = now() - interval '1 minute' WHERE team_id = $1`, [m.teamId]);
    const refreshes = fake.refreshCount;
    await t.app.get(JiraTokenManager).getAccessToken(m.teamId);
    expect(fake.refreshCount).toBe(refreshes + 1);
    const refreshed = (await t.http.get(STATUS).set(m.headers)).body.data;
    expect(refreshed.lastRefreshedAt).not.toBeNull();
    expect(Date.parse(refreshed.consentExpiresAt)).toBe(first);

    // A reconnect ten days later is a new consent: a new year, and the notices start over.
    await t.dataSource.query('UPDATE jira_integrations SET reconsent_notice_days = 30 WHERE team_id = $1', [m.teamId]);
    clock.offsetMs = 10 * DAY;
    try {
      expect((await connect(t, fake, m)).res.status).toBe(200);
    } finally {
      clock.offsetMs = 0;
    }
    const second = Date.parse((await t.http.get(STATUS).set(m.headers)).body.data.consentExpiresAt);
    expect(second - first).toBeGreaterThanOrEqual(10 * DAY);
    expect(second - first).toBeLessThan(10 * DAY + 60_000);
    expect((await integrationRow(t, m.teamId))?.reconsent_notice_days).toBeNull();
  });

  it('reconsent_due goes out 30 and 7 days before expiry, each exactly once per consent, from the hourly job', async () => {
    const s = await seedIntegration(t.dataSource, fake);
    const consentedAt = Date.now() - 300 * DAY;
    await t.dataSource.query('UPDATE jira_integrations SET consented_at = $2 WHERE team_id = $1', [s.teamId, new Date(consentedAt)]);
    const expiresAt = consentedAt + YEAR;
    const job = t.app.get(ReconsentNoticeJob);
    const runAt = async (at: number) => {
      clock.setNow(at);
      try {
        return (await job.runOnce()).notified.filter((n) => n.teamId === s.teamId);
      } finally {
        clock.offsetMs = 0;
      }
    };

    expect(await runAt(expiresAt - 31 * DAY)).toEqual([]);
    expect(await runAt(expiresAt - 29 * DAY)).toEqual([{ teamId: s.teamId, noticeDays: 30 }]);
    // Two instances at once, and the next hour: the 30-day notice is taken.
    clock.setNow(expiresAt - 29 * DAY + 3_600_000);
    const twice = await Promise.all([job.runOnce(), job.runOnce()]);
    clock.offsetMs = 0;
    expect(twice.flatMap((r) => r.notified).filter((n) => n.teamId === s.teamId)).toEqual([]);
    expect(await runAt(expiresAt - 6.5 * DAY)).toEqual([{ teamId: s.teamId, noticeDays: 7 }]);
    expect(await runAt(expiresAt - 1 * DAY)).toEqual([]);
    expect(await runAt(expiresAt + 1 * DAY)).toEqual([]);

    const sent = await outbox(s.teamId, 'reconsent_due');
    expect(sent).toHaveLength(2);
    expect(new Set(sent.map((r) => r.id)).size).toBe(2);
    expect(sent.map((r) => r.data)).toEqual([
      expect.objectContaining({ consentExpiresAt: new Date(expiresAt).toISOString(), daysLeft: 29, noticeDays: 30, cloudId: s.cloudId }),
      expect.objectContaining({ consentExpiresAt: new Date(expiresAt).toISOString(), daysLeft: 7, noticeDays: 7, cloudId: s.cloudId }),
    ]);
  });

  it('the admin listing shows consentExpiresAt and filters on consentExpiresBefore', async () => {
    const s = await seedIntegration(t.dataSource, fake);
    const consentedAt = new Date(Date.now() - 100 * DAY);
    await t.dataSource.query('UPDATE jira_integrations SET consented_at = $2 WHERE team_id = $1', [s.teamId, consentedAt]);
    const expiresAt = consentedAt.getTime() + YEAR;
    const list = async (before: number) => {
      const items: { teamId: string; consentExpiresAt: string | null }[] = [];
      let cursor: string | undefined;
      do {
        const res = await t.http.get('/api/admin/integrations')
          .query({ consentExpiresBefore: new Date(before).toISOString(), limit: 200, ...(cursor ? { cursor } : {}) }).set(admin);
        expect(res.status, res.text).toBe(200);
        items.push(...res.body.data);
        cursor = res.body.nextCursor ?? undefined;
      } while (cursor);
      return items;
    };
    const included = (await list(expiresAt + 1000)).find((i) => i.teamId === s.teamId);
    expect(included?.consentExpiresAt).toBe(new Date(expiresAt).toISOString());
    const excluded = await list(expiresAt - 1000);
    expect(excluded.find((i) => i.teamId === s.teamId)).toBeUndefined();
    expect(excluded.every((i) => i.consentExpiresAt !== null && Date.parse(i.consentExpiresAt) < expiresAt - 1000)).toBe(true);

    const bad = await t.http.get('/api/admin/integrations').query({ consentExpiresBefore: 'next tuesday' }).set(admin);
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('validation_failed');
  });

  it('a connector who leaves: the integration keeps working, status says so, connector_left is sent once', async () => {
    clock.offsetMs = 0;
    const connector = await t.member('owner');
    const stays = await t.member('admin', connector.teamId);
    expect((await connect(t, fake, connector)).res.status).toBe(200);
    const member = (id: string) => `/api/admin/teams/${encodeURIComponent(connector.teamId)}/members/${encodeURIComponent(id)}`;
    expect((await t.http.get(STATUS).set(stays.headers)).body.data.connectedBy).toMatchObject({ userId: connector.userId, isMember: true, leftAt: null });

    // Someone else leaving changes nothing.
    const other = await t.member('member', connector.teamId);
    expect((await t.http.delete(member(other.userId)).set(admin)).body.data).toEqual({ removed: true, connectorLeft: false });

    const removal = await t.http.delete(member(connector.userId)).set(admin);
    expect(removal.body.data).toEqual({ removed: true, connectorLeft: true });
    expect((await t.http.delete(member(connector.userId)).set(admin)).body.data).toEqual({ removed: false, connectorLeft: false });

    const status = (await t.http.get(STATUS).query({ verify: 'true' }).set(stays.headers)).body.data;
    expect(status.status).toBe('connected');
    expect(status.verification).toMatchObject({ ok: true });
    expect(status.connectedBy).toMatchObject({ userId: connector.userId, isMember: false, leftAt: expect.any(String) });

    const rows = await outbox(connector.teamId, 'connector_left');
    expect(rows).toHaveLength(1);
    expect(rows[0].data).toEqual({ userId: connector.userId, cloudId: fake.account.sites[0].id, siteUrl: fake.account.sites[0].url,
      leftAt: status.connectedBy.leftAt });
    await receiver.waitFor(() => receiver.ofTeam(connector.teamId).some((r) => r.body.type === 'connector_left' && r.status === 200), 'connector_left');
    const delivered = receiver.ofTeam(connector.teamId).find((r) => r.body.type === 'connector_left')!;
    expect(delivered.body.id).toBe(rows[0].id);
    expect(delivered.headers['x-jira-connect-signature']).toMatch(/^v1=[0-9a-f]{64}$/);

    const listed = (await t.http.get('/api/admin/integrations').query({ limit: 200 }).set(admin)).body.data
      .find((i: { teamId: string }) => i.teamId === connector.teamId);
    expect(listed.connectedBy).toEqual({ userId: connector.userId, leftAt: status.connectedBy.leftAt });

    // Back in the team: a member again.
    await t.http.put(member(connector.userId)).set(admin).send({ role: 'admin' }).expect(200);
    expect((await t.http.get(STATUS).set(stays.headers)).body.data.connectedBy).toMatchObject({ isMember: true, leftAt: null });
  });

  it('documents the new fields and the filter in OpenAPI', async () => {
    const doc = (await t.http.get('/api/docs-json')).body as OpenApiDocument;
    const schema = (name: string) => doc.components.schemas[name];
    expect(schema('ConnectionDto').properties).toHaveProperty('consentExpiresAt');
    expect(Object.keys(schema('ConnectedByDto').properties ?? {})).toEqual(expect.arrayContaining(['isMember', 'leftAt']));
    const item = schema('AdminIntegrationDto');
    expect(item.properties).toHaveProperty('consentExpiresAt');
    expect(Object.keys(resolve(doc, item.properties!.connectedBy).properties ?? {})).toEqual(['userId', 'leftAt']);
    const list = doc.paths['/api/admin/integrations'].get;
    expect(list.parameters?.map((p) => p.name)).toContain('consentExpiresBefore');
    const removal = resolve(doc, doc.paths['/api/admin/teams/{teamId}/members/{userId}'].delete.responses['200'].content!['application/json'].schema);
    expect(resolve(doc, removal.properties!.data).properties).toHaveProperty('connectorLeft');
  });
});
