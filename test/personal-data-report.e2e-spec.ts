import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Clock } from '../src/integrations/jira/common/clock.js';
import { JiraIntegration } from '../src/integrations/jira/entities/jira-integration.entity.js';
import { PersonalDataReportJob } from '../src/integrations/jira/lifecycle/personal-data-report.job.js';
import { FakeAtlassian, type FakeAccount } from '../src/integrations/jira/testing/fake-atlassian/fake-atlassian.js';
import { fileFixtures } from './helpers/fixtures.js';
import { storedIntegration } from './helpers/jira-seed.js';
import { ShiftedClock } from './helpers/shifted-clock.js';

const DAY = 24 * 60 * 60_000;
const WITH_ME = ['read:jira-user', 'read:jira-work', 'offline_access', 'read:me'];
/** The file's fake Atlassian and its app: file-scoped fixtures (test/helpers/fixtures.ts). */
const { useApp, useFake } = fileFixtures();

describe('personal-data reporting job', () => {
  const fake = useFake();
  const clock = new ShiftedClock();
  const t = useApp({
    env: { NOTIFY_WEBHOOK_URL: 'http://127.0.0.1:9/unused', NOTIFY_WEBHOOK_SECRET: 's'.repeat(40),
      NOTIFY_POLL_INTERVAL_MS: '600000', JIRA_PERSONAL_DATA_CALL_DEADLINE_MS: '3000' },
    configure: (b) => b.overrideProvider(Clock).useValue(clock),
  });
  let job: PersonalDataReportJob;

  beforeAll(() => {
    job = t.app.get(PersonalDataReportJob);
  });
  beforeEach(async () => {
    clock.offsetMs = 0;
    fake.personalData.answers.clear();
    fake.personalData.requests.length = 0;
    await t.dataSource.query('DELETE FROM jira_integrations');
  });

  /** A connected integration holding `account`'s id and name, as the callback stores them with read:me. */
  async function seedWithAccount(account: FakeAccount, accountUpdatedAt: Date): Promise<string> {
    const [team] = (await t.dataSource.query(`INSERT INTO teams (name) VALUES ('pd-' || md5(random()::text)) RETURNING id`)) as { id: string }[];
    const grant = fake.mintGrant(account, WITH_ME);
    await t.dataSource.getRepository(JiraIntegration).save({
      teamId: team.id, status: 'connected', cloudId: grant.cloudId, siteUrl: account.sites[0].url, siteName: account.sites[0].name,
      scopes: WITH_ME, accessToken: grant.accessToken, refreshToken: grant.refreshToken,
      accessTokenExpiresAt: new Date(Date.now() + 3_600_000), connectedAt: accountUpdatedAt, lastRefreshedAt: accountUpdatedAt,
      atlassianAccountId: account.accountId, atlassianAccountName: account.name, accountUpdatedAt,
    });
    return team.id;
  }

  /** Rows that hold only an account id (no usable token), many at once. */
  async function seedAccountsOnly(count: number): Promise<string[]> {
    const ids = Array.from({ length: count }, (_, i) => `bulk-account-${i}-${Math.random().toString(36).slice(2, 8)}`);
    await t.dataSource.query(
      `WITH teams AS (INSERT INTO teams (name) SELECT 'pd-bulk-' || md5(random()::text) FROM unnest($1::text[]) RETURNING id),
            numbered AS (SELECT id, row_number() OVER () AS n FROM teams)
       INSERT INTO jira_integrations (team_id, status, atlassian_account_id, account_updated_at, scopes)
       SELECT numbered.id, 'reauthorization_required', ids.account_id, now() - interval '3 days', '{}'
         FROM numbered JOIN unnest($1::text[]) WITH ORDINALITY AS ids(account_id, n) ON ids.n = numbered.n`, [ids]);
    return ids;
  }

  it('a report cycle: closed accounts are erased (and teams told), updated ones re-read from /me, the rest untouched', async () => {
    const closing = FakeAtlassian.account('closing', 1);
    const renamed = FakeAtlassian.account('renamed', 1);
    const quiet = FakeAtlassian.account('quiet', 1);
    const since = new Date(Date.now() - 3 * DAY);
    const closingTeams = [await seedWithAccount(closing, since), await seedWithAccount(closing, new Date(since.getTime() + 1000))];
    const renamedTeam = await seedWithAccount(renamed, since);
    const quietTeam = await seedWithAccount(quiet, since);
    fake.personalData.answers.set(closing.accountId, 'closed');
    fake.personalData.answers.set(renamed.accountId, 'updated');
    renamed.name = 'Renamed Person';

    const r = await job.runOnce();
    expect(r).toEqual({ batches: [3], closed: [closing.accountId], updated: [renamed.accountId], failed: 0 });
    const [request] = fake.personalData.requests;
    expect(request.status).toBe(200);
    // One entry per account, with the newest updatedAt among its rows.
    expect([...request.accounts].sort((a, b) => a.accountId.localeCompare(b.accountId))).toEqual([
      { accountId: closing.accountId, updatedAt: new Date(since.getTime() + 1000).toISOString() },
      { accountId: quiet.accountId, updatedAt: since.toISOString() },
      { accountId: renamed.accountId, updatedAt: since.toISOString() },
    ].sort((a, b) => a.accountId.localeCompare(b.accountId)));

    for (const teamId of closingTeams) {
      const row = await storedIntegration(t.dataSource, teamId);
      expect(row).toMatchObject({ atlassianAccountId: null, atlassianAccountName: null, accountUpdatedAt: null, status: 'connected' });
      expect(row.refreshToken).not.toBeNull(); // the connection is left to fail (or not) on its own
      const [note] = (await t.dataSource.query(`SELECT id, data FROM jira_notification_outbox WHERE team_id = $1 AND type = 'connector_account_closed'`,
        [teamId])) as { id: string; data: Record<string, unknown> }[];
      expect(note.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(JSON.stringify(note.data)).not.toContain(closing.accountId);
    }
    const dump = JSON.stringify(await t.dataSource.query('SELECT * FROM jira_integrations'));
    expect(dump).not.toContain(closing.accountId);
    expect(dump).not.toContain('closing user');

    const updated = await storedIntegration(t.dataSource, renamedTeam);
    expect(updated.atlassianAccountName).toBe('Renamed Person');
    expect(updated.accountUpdatedAt!.getTime()).toBeGreaterThan(Date.now() - 60_000);
    const untouched = await storedIntegration(t.dataSource, quietTeam);
    expect(untouched).toMatchObject({ atlassianAccountId: quiet.accountId, atlassianAccountName: 'quiet user' });
    expect(untouched.accountUpdatedAt!.toISOString()).toBe(since.toISOString());
    expect(untouched.accountReportedAt).not.toBeNull();

    // Reported: nothing is due until the cycle (7 days) has passed; then the two remaining accounts again.
    expect(await job.runOnce()).toEqual({ batches: [], closed: [], updated: [], failed: 0 });
    clock.offsetMs = 6 * DAY;
    expect((await job.runOnce()).batches).toEqual([]);
    clock.offsetMs = 7 * DAY + 60_000;
    fake.personalData.answers.clear();
    expect((await job.runOnce()).batches).toEqual([2]);
    expect(fake.personalData.requests.at(-1)!.status).toBe(204);
    expect(fake.personalData.requests.at(-1)!.accounts.find((a) => a.accountId === renamed.accountId)?.updatedAt)
      .toBe(updated.accountUpdatedAt!.toISOString());
  });

  it('updated with no connection able to read /me (dead grant): the stored name is dropped, the id kept, updatedAt moved', async () => {
    await seedWithAccount(FakeAtlassian.account('token-holder', 1), new Date(Date.now() - DAY));
    const stale = FakeAtlassian.account('stale', 1);
    const teamId = await seedWithAccount(stale, new Date(Date.now() - 5 * DAY));
    await t.dataSource.query(`UPDATE jira_integrations SET status = 'reauthorization_required' WHERE team_id = $1`, [teamId]);
    fake.personalData.answers.set(stale.accountId, 'updated');
    expect(await job.runOnce()).toMatchObject({ batches: [2], updated: [stale.accountId], failed: 0 });
    const row = await storedIntegration(t.dataSource, teamId);
    expect(row).toMatchObject({ atlassianAccountId: stale.accountId, atlassianAccountName: null });
    expect(row.accountUpdatedAt!.getTime()).toBeGreaterThan(Date.now() - 60_000);
  });

  it('reports more than 90 accounts in batches of at most 90, each account once, two runners at once included', async () => {
    await seedWithAccount(FakeAtlassian.account('token-holder', 1), new Date(Date.now() - DAY));
    const ids = await seedAccountsOnly(200);
    const [a, b] = await Promise.all([job.runOnce(), job.runOnce()]);
    const sizes = [...a.batches, ...b.batches];
    expect(sizes.reduce((x, y) => x + y, 0)).toBe(201);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(90);
    expect(sizes.length).toBe(3);
    const reported = fake.personalData.reportedIds();
    expect(reported).toHaveLength(201);
    expect(new Set(reported).size).toBe(201);
    expect(reported).toEqual(expect.arrayContaining(ids));
    expect(fake.personalData.requests.every((r) => r.accounts.length <= 90 && r.status === 204)).toBe(true);
    const [{ n }] = (await t.dataSource.query('SELECT count(*)::int AS n FROM jira_integrations WHERE account_reported_at IS NULL')) as { n: number }[];
    expect(n).toBe(0);
  });

  it('honours Retry-After on 429 and gives up a batch whose wait would pass the call deadline, to report it on a later run', async () => {
    const account = FakeAtlassian.account('limited', 1);
    const teamId = await seedWithAccount(account, new Date(Date.now() - DAY));

    fake.personalData.failNext({ status: 429, retryAfter: '1' });
    const r = await job.runOnce();
    expect(r).toMatchObject({ batches: [1], failed: 0 });
    const [limited, retried] = fake.personalData.requests;
    expect([limited.status, retried.status]).toEqual([429, 204]);
    expect(retried.at - limited.at).toBeGreaterThanOrEqual(1000);

    // Retry-After beyond the 3 s deadline: no wait, no report, the lease released.
    clock.offsetMs = 8 * DAY;
    fake.personalData.failNext({ status: 429, retryAfter: '30' });
    const started = Date.now();
    expect(await job.runOnce()).toMatchObject({ batches: [], failed: 1 });
    expect(Date.now() - started).toBeLessThan(2500);
    expect(fake.personalData.requests).toHaveLength(3);
    const row = await storedIntegration(t.dataSource, teamId);
    expect(row.accountReportLeaseUntil).toBeNull();
    expect(row.accountReportedAt!.getTime()).toBeLessThan(clock.nowMs() - 7 * DAY);

    // The next run reports it.
    expect(await job.runOnce()).toMatchObject({ batches: [1], failed: 0 });
    expect(fake.personalData.requests.at(-1)!.status).toBe(204);
  });
});
