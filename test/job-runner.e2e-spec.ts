import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { JobRunner } from '../src/integrations/jira/jobs/job-runner.js';
import { FakeAtlassian } from '../src/integrations/jira/testing/fake-atlassian/fake-atlassian.js';
import { createTestApp, type TestApp } from './helpers/test-app.js';
import { waitFor } from './helpers/webhook-probe.js';

/*
 * Issue 18, item 7: one leased job runner. Two app instances on one database share jira_jobs:
 * each due periodic job runs once (claimed under FOR UPDATE SKIP LOCKED), a live lease is
 * respected and a lapsed one taken over, a failure waits the backoff, and an instance with every
 * feature off registers nothing and sends no statement. Times are the database's: the tests move
 * `run_at` and `locked_until` rather than waiting.
 */
const HOUR = 3_600_000;

describe('job runner: periodic jobs across two instances', () => {
  const fake = new FakeAtlassian();
  let a: TestApp;
  let b: TestApp;
  const runnerOf = (t: TestApp) => t.app.get(JobRunner, { strict: false });
  const rowOf = async (name: string) => {
    const [row] = (await a.dataSource.query(
      `SELECT attempts, last_error, locked_until, EXTRACT(EPOCH FROM (run_at - now())) AS wait_s FROM jira_jobs WHERE name = $1`, [name])) as
      { attempts: number; last_error: string | null; locked_until: Date | null; wait_s: string }[];
    return row;
  };

  beforeAll(async () => {
    await fake.start();
    a = await createTestApp({ env: fake.env() });
    b = await createTestApp({ env: fake.env() });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await fake.stop();
  });

  it('registers the sweeps of configured features only, creates their rows a period out, and arms one timer', async () => {
    const sweeps = ['jira-keepalive', 'jira-oauth-state-purge', 'jira-personal-data-report', 'jira-refresh-recovery'];
    expect(runnerOf(a).registered.sort()).toEqual(sweeps);
    expect(runnerOf(a).armed).toBe(true);
    const rows = await waitFor(async () => {
      const found = (await a.dataSource.query(`SELECT name, EXTRACT(EPOCH FROM (run_at - now())) AS wait_s FROM jira_jobs WHERE name = ANY($1) ORDER BY name`,
        [sweeps])) as { name: string; wait_s: string }[];
      return found.length === sweeps.length ? found : null;
    }, 'a row for every sweep');
    expect(rows.map((r) => r.name)).toEqual(sweeps);
    expect(rows.every((r) => Number(r.wait_s) > 30)).toBe(true); // none runs at start-up
  });

  it('runs each due job once across both instances, then not again within its period', async () => {
    const names = ['test-once-1', 'test-once-2', 'test-once-3', 'test-once-4'];
    await a.dataSource.query(`INSERT INTO jira_jobs (name, run_at) SELECT unnest($1::text[]), now() - interval '1 second'`, [names]);
    const runs = new Map<string, string[]>();
    for (const [label, t] of [['a', a], ['b', b]] as const) {
      for (const name of names) {
        runnerOf(t).every({ name, everyMs: HOUR, run: async () => {
          runs.set(name, [...(runs.get(name) ?? []), label]);
          await new Promise((r) => setImmediate(r)); // let the other instance try meanwhile
        } });
      }
    }
    // Both instances' loops and runOnce race for the same rows: each job runs exactly once.
    await Promise.all([runnerOf(a).runOnce(), runnerOf(b).runOnce()]);
    await waitFor(() => names.every((n) => runs.has(n)), 'every job run');
    await waitFor(async () => (await Promise.all(names.map(rowOf))).every((r) => r.locked_until === null), 'every run recorded');
    expect(names.map((n) => runs.get(n)!.length)).toEqual([1, 1, 1, 1]);
    expect(await Promise.all([runnerOf(a).runOnce(), runnerOf(b).runOnce()])).toEqual([[], []]);
    for (const row of await Promise.all(names.map(rowOf))) {
      expect(row.attempts).toBe(0);
      expect(Number(row.wait_s)).toBeGreaterThan(3590);
    }
    expect(names.map((n) => runs.get(n)!.length)).toEqual([1, 1, 1, 1]);
  });

  it('leaves a job whose lease is live, and takes over one whose lease lapsed (a crashed instance)', async () => {
    const name = 'test-lease';
    await a.dataSource.query(`INSERT INTO jira_jobs (name, run_at, locked_until, attempts) VALUES ($1, now() - interval '1 hour', now() + interval '1 minute', 1)`, [name]);
    let ran = 0;
    runnerOf(a).every({ name, everyMs: HOUR, run: async () => void ran++ });
    expect(await runnerOf(a).runOnce()).not.toContain(name);
    expect(ran).toBe(0);
    await a.dataSource.query(`UPDATE jira_jobs SET locked_until = now() - interval '1 second' WHERE name = $1`, [name]);
    expect(await runnerOf(a).runOnce()).toContain(name);
    expect(ran).toBe(1);
    expect(await rowOf(name)).toMatchObject({ attempts: 0, locked_until: null, last_error: null });
  });

  it('runs a job within the period of the instance configured for the shortest one, whoever ran it last', async () => {
    // The refresh recovery must run within Atlassian's reuse leeway after a crash, even when the
    // instance that ran it last has a longer period (and so set run_at an hour out).
    const name = 'test-periods';
    const runs: string[] = [];
    runnerOf(a).every({ name, everyMs: HOUR, run: async () => void runs.push('a') });
    runnerOf(b).every({ name, everyMs: 2_000, run: async () => void runs.push('b') });
    await waitFor(async () => (await rowOf(name)) ?? null, 'its row');
    // As a's run leaves it: finished 3 s ago (past b's period), next due in a's hour.
    await a.dataSource.query(`UPDATE jira_jobs SET run_at = now() + interval '1 hour', last_finished_at = now() - interval '3 seconds', locked_until = NULL
      WHERE name = $1`, [name]);
    runs.length = 0;
    await runnerOf(b).runOnce();
    await waitFor(() => runs.length > 0 || null, 'b runs it: its own 2 s have passed since the last run');
    expect(runs).toEqual(['b']);
    await waitFor(async () => ((await rowOf(name)).locked_until === null) || null, 'the run recorded');
    // Just run: due for neither instance (b's 2 s and a's hour both count from this run).
    expect(await runnerOf(a).runOnce()).not.toContain(name);
    expect(runs).toEqual(['b']);
  });

  it('looks again at a job another instance holds after its own period, not only at the lease\'s end', async () => {
    // The holder (another instance's sweep) usually finishes long before its lease (minutes) ends.
    const name = 'test-held';
    await a.dataSource.query(`INSERT INTO jira_jobs (name, run_at, locked_until) VALUES ($1, now() - interval '1 second', now() + interval '1 minute')`, [name]);
    const runs: string[] = [];
    runnerOf(b).every({ name, everyMs: 2_000, run: async () => void runs.push('b') });
    await runnerOf(b).runOnce(); // held: not run
    expect(runs).toEqual([]);
    // The holder finishes (as a's run records it) a moment later.
    await a.dataSource.query(`UPDATE jira_jobs SET locked_until = NULL, run_at = now() + interval '1 hour', last_finished_at = now() - interval '2 seconds'
      WHERE name = $1`, [name]);
    await waitFor(() => runs.length > 0 || null, 'b runs it within its own period, not a minute later');
    expect(runs[0]).toBe('b');
  });

  it('records a failure and retries it after the backoff (half to one minute), not a period later', async () => {
    const name = 'test-failing';
    // Last run two periods ago: the failure's backoff, not that old run, says when it is due again.
    await a.dataSource.query(`INSERT INTO jira_jobs (name, run_at, last_finished_at) VALUES ($1, now() - interval '1 second', now() - interval '2 hours')`, [name]);
    runnerOf(b).every({ name, everyMs: HOUR, run: async () => {
      throw new Error('Atlassian said no');
    } });
    await runnerOf(b).runOnce(); // or b's loop ran it first
    const row = await waitFor(async () => {
      const r = await rowOf(name);
      return r.last_error !== null && r.locked_until === null ? r : null;
    }, 'the failure recorded');
    expect(row).toMatchObject({ attempts: 1, last_error: 'Atlassian said no', locked_until: null });
    expect(Number(row.wait_s)).toBeGreaterThan(25);
    expect(Number(row.wait_s)).toBeLessThanOrEqual(61);
    expect(await runnerOf(b).runOnce()).not.toContain(name);
    expect((await rowOf(name)).attempts).toBe(1);
  });
});

describe('job runner: every feature off', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { JIRA_CLIENT_ID: undefined, JIRA_CLIENT_SECRET: undefined, JIRA_REDIRECT_URI: undefined,
      NOTIFY_WEBHOOK_URL: undefined, JIRA_WEBHOOK_URL: undefined } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('registers nothing, arms no timer, and sends no statement when run or woken', async () => {
    const runner = t.app.get(JobRunner, { strict: false });
    expect(runner.registered).toEqual([]);
    expect(runner.armed).toBe(false);
    const query = vi.spyOn(t.dataSource, 'query');
    const queryRunners = vi.spyOn(t.dataSource, 'createQueryRunner');
    try {
      expect(await runner.runOnce()).toEqual([]);
      runner.wake('notifications');
      runner.wakeAt('webhook-events', Date.now());
      expect(runner.armed).toBe(false);
      expect(query).not.toHaveBeenCalled();
      expect(queryRunners).not.toHaveBeenCalled();
    } finally {
      query.mockRestore();
      queryRunners.mockRestore();
    }
  });
});
