import { beforeAll, describe, expect, it } from 'vitest';
import { JiraTokenManager } from '../src/integrations/jira/tokens/jira-token-manager.service.js';
import { fileFixtures } from './helpers/fixtures.js';
import { chainIntact, seedIntegration, type SeededIntegration } from './helpers/jira-seed.js';
import { countStatements, type StatementCounter } from './helpers/statement-counter.js';
import type { TestApp } from './helpers/test-app.js';

/*
 * The refresh storm's structure, counted rather than timed (the machine's load makes wall-clock
 * figures meaningless): how many SQL statements the token path issues per team when two
 * instances (two apps, each with its own token manager, lease owner and pool) refresh the same
 * expired teams, and how many a process waiting on the other's lease issues.
 */

const TEAMS = 24;
const CALLERS_PER_APP = 5;

/** The file's fake Atlassian and its apps: file-scoped fixtures (test/helpers/fixtures.ts). */
const { useApp, useFake } = fileFixtures();

describe('refresh storm structure: statements counted', () => {
  const fake = useFake();
  // The recovery sweep and keep-alive stay quiet for the test's few seconds (their periods are
  // long); so does the webhook dispatcher's inbox poll (1 s by default), which uses the same
  // DataSource and would be counted with the token path's statements.
  const quiet = { JIRA_WEBHOOK_POLL_MS: '600000' };
  const a = useApp({ env: quiet });
  const b = useApp({ env: quiet });
  let countA: StatementCounter;
  let countB: StatementCounter;

  beforeAll(() => {
    countA = countStatements(a.dataSource);
    countB = countStatements(b.dataSource);
  });

  const seedTeams = async (): Promise<SeededIntegration[]> => {
    const seeded: SeededIntegration[] = [];
    for (let i = 0; i < TEAMS; i++) seeded.push(await seedIntegration(a.dataSource, fake));
    return seeded;
  };
  const callers = (app: TestApp, teams: SeededIntegration[]) =>
    Promise.all(teams.flatMap((s) => Array.from({ length: CALLERS_PER_APP }, () => app.app.get(JiraTokenManager).getAccessToken(s.teamId))));

  it('both instances, 5 callers each per team: one refresh per team, 3 statements per team plus a few shared reads', async () => {
    const teams = await seedTeams();
    const before = fake.refreshCount;
    fake.tokenLatencyMs = 100;
    countA.reset();
    countB.reset();
    try {
      const [ra, rb] = await Promise.all([callers(a, teams), callers(b, teams)]);
      const perTeam = (countA.total() + countB.total()) / TEAMS;
      console.log(`storm of ${TEAMS} teams: ${perTeam.toFixed(2)} statements per team`, JSON.stringify([...countA.byKind, ...countB.byKind]));
      expect(fake.refreshCount - before).toBe(TEAMS);
      teams.forEach((s, i) => {
        const got = new Set([...ra.slice(i * CALLERS_PER_APP, (i + 1) * CALLERS_PER_APP), ...rb.slice(i * CALLERS_PER_APP, (i + 1) * CALLERS_PER_APP)]);
        expect(got.size).toBe(1);
        expect(got.has(s.accessToken)).toBe(false);
      });
      for (const s of teams) expect(await chainIntact(a.dataSource, fake, s.teamId)).toBe(true);
      // Per team: each instance tries the lease once (the claim reports the row when it fails) and
      // the holder writes once (3); the reads of all teams asked for at once and the polls of all
      // waits are shared statements, whose number does not grow with the teams. (Before: 12.4 per
      // team: a read per team and instance, the waiting instance polling each team on its own with
      // claim + read every 20 to 200 ms.) At the bench's 1,000 teams this is ≤ 3.5 per team.
      const kinds = [...countA.byKind, ...countB.byKind];
      const perTeamStatements = kinds.filter(([k]) => !k.startsWith('SELECT')).reduce((n, [, c]) => n + c, 0);
      const shared = kinds.filter(([k]) => k.startsWith('SELECT')).reduce((n, [, c]) => n + c, 0);
      expect(perTeamStatements).toBeLessThanOrEqual(3 * TEAMS);
      // The shared polls are timed, so a loaded machine adds a few; per-team polling would be hundreds.
      expect(shared).toBeLessThanOrEqual(2 * TEAMS);
      expect(perTeam).toBeLessThanOrEqual(5);
    } finally {
      fake.tokenLatencyMs = 0;
    }
  }, 60_000);

  it('an instance waiting on the other\'s leases never tries a lease it saw held, and its reads and polls are shared by all teams', async () => {
    const teams = await seedTeams();
    fake.tokenLatencyMs = 400;
    try {
      const holder = callers(a, teams);
      // Every lease is a's before b asks (bounded wait).
      for (let i = 0; i < 200; i++) {
        const [{ n }] = (await a.dataSource.query(
          `SELECT count(*)::int AS n FROM jira_integrations WHERE team_id = ANY($1) AND refresh_lease_owner IS NOT NULL`,
          [teams.map((s) => s.teamId)])) as { n: number }[];
        if (n === TEAMS) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      const before = fake.tokenRequests.length;
      countB.reset();
      const waited = await callers(b, teams);
      const fromHolder = await holder;
      console.log(`waiting instance, ${TEAMS} teams: ${countB.total()} statements`, JSON.stringify([...countB.byKind]));
      expect(waited).toEqual(fromHolder);
      expect(fake.tokenRequests.length - before).toBeLessThanOrEqual(TEAMS); // only a's, still in flight
      // One read for all teams, which shows a's live leases, so no claim is tried; then the waits
      // of all teams share one polling read per tick. 400 ms of waiting at the shortest tick
      // (10 ms) is at most 40 reads, however many teams wait. (Before: 226 statements for 24
      // teams, each team polling on its own through claim + read every 20 to 200 ms.)
      expect([...countB.byKind.keys()].every((kind) => kind.startsWith('SELECT'))).toBe(true);
      expect(countB.total()).toBeLessThanOrEqual(1 + 40);
    } finally {
      fake.tokenLatencyMs = 0;
    }
  }, 60_000);
});
