import { readFileSync } from 'node:fs';
import { TokenOptions } from '../src/integrations/jira/config/jira.config.js';
import { JiraIntegration } from '../src/integrations/jira/entities/jira-integration.entity.js';
import { FakeAtlassian } from '../src/integrations/jira/testing/fake-atlassian/fake-atlassian.js';
import { createBenchDatabase, dropBenchDatabase, openDatabase, startApp, type AppProcess } from './support.js';

export const STORM = {
  teams: Number(process.env.BENCH_STORM_TEAMS ?? 1000),
  callersPerTeam: 10,
  processes: 2,
  tokenLatencyMs: 50,
  /**
   * Refreshes in flight per process: JIRA_REFRESH_CONCURRENCY's default. No refresh holds a
   * database connection across the token call any more, so the pool no longer bounds it.
   */
  refreshConcurrencyPerProcess: new TokenOptions().refreshConcurrency,
};

export interface StormResult {
  teams: number;
  calls: number;
  okCalls: number;
  errors: Record<string, number>;
  refreshRequests: number;
  successfulRefreshes: number;
  lostRefreshTokens: number;
  wallMs: number;
  idealMs: number;
  /** The same calls again right after, every token now valid: what this machine needs for the calls alone. */
  validMs: number;
  /** max(idealMs, validMs): the storm cannot beat either. */
  limitMs: number;
  concurrency: number;
  /** SQL statements both processes sent during the storm, by kind, and per team. */
  statements: Record<string, number>;
  statementsPerTeam: number;
  /** Shared polling reads of waits on the other process's leases (both processes). */
  polls: number;
  /** CPU time used during the storm: by each app process, and by the bench process (the fake Atlassian). */
  appCpuMs: number[];
  /** CPU time of the PostgreSQL backends serving the app processes (0 when PostgreSQL is not local). */
  postgresCpuMs: number;
  fakeCpuMs: number;
}

/** CPU time (ms) used so far by each PostgreSQL backend serving `db`, by pid (Linux /proc; 100 ticks a second). */
async function backendCpuMs(ds: { query(sql: string, params: unknown[]): Promise<unknown> }, db: string): Promise<Map<number, number>> {
  const rows = (await ds.query('SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [db])) as { pid: number }[];
  const cpu = new Map<number, number>();
  for (const { pid } of rows) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      cpu.set(pid, (Number(fields[11]) + Number(fields[12])) * 10); // utime, stime
    } catch {
      /* not on this machine's /proc (remote server) or already gone */
    }
  }
  return cpu;
}

/** A grant at the fake, the way a user's consent creates one: returns its first refresh token. */
async function grant(fake: FakeAtlassian): Promise<string> {
  const url = new URL(`${fake.url}/authorize`);
  const params = { client_id: fake.clientId, redirect_uri: fake.redirectUri, response_type: 'code', audience: 'api.atlassian.com',
    state: 'bench', scope: 'read:jira-user read:jira-work offline_access' };
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  const code = (await fake.consent(url.toString())).searchParams.get('code');
  const res = await fetch(`${fake.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'authorization_code', client_id: fake.clientId, client_secret: fake.clientSecret, code, redirect_uri: fake.redirectUri }),
  });
  const body = (await res.json()) as { refresh_token?: string };
  if (!body.refresh_token) throw new Error(`fake token exchange answered ${res.status}`);
  return body.refresh_token;
}

/**
 * 1,000 connected teams whose access tokens have all expired; 2 app processes on one PostgreSQL;
 * 10 concurrent callers per team (5 in each process) call getAccessToken at the same instant,
 * against the fake Atlassian answering token requests after 50 ms.
 */
export async function refreshStorm(entry: string): Promise<StormResult> {
  const dbName = `jc_bench_storm_${process.pid}`;
  const url = await createBenchDatabase(dbName);
  const fake = await new FakeAtlassian({ expiresInSeconds: 3600 }).start();
  const apps: AppProcess[] = [];
  try {
    const ds = await openDatabase({ DATABASE_URL: url });
    const site = fake.account.sites[0];
    const expired = new Date(Date.now() - 60_000);
    for (let i = 0; i < STORM.teams; i += 50) {
      const batch = Array.from({ length: Math.min(50, STORM.teams - i) }, (_, j) => i + j);
      const refreshTokens = await Promise.all(batch.map(() => grant(fake)));
      const teams: { id: string }[] = await ds.query(
        `INSERT INTO teams (name) SELECT 'storm-' || n FROM unnest($1::int[]) AS n RETURNING id`, [batch]);
      await ds.getRepository(JiraIntegration).insert(teams.map(({ id }, j) => ({
        teamId: id, status: 'connected' as const, cloudId: site.id, siteUrl: site.url, siteName: site.name,
        scopes: ['read:jira-user', 'read:jira-work', 'offline_access'], accessToken: `expired-${i + j}`,
        refreshToken: refreshTokens[j], accessTokenExpiresAt: expired, connectedAt: expired,
      })));
    }
    const before = fake.tokenRequests.length;
    fake.tokenLatencyMs = STORM.tokenLatencyMs;
    for (let p = 0; p < STORM.processes; p++) {
      apps.push(await startApp(entry, { DATABASE_URL: url, ...fake.env(), JIRA_REFRESH_LOCK_TIMEOUT_MS: '120000', JIRA_RETRY_BUDGET_MS: '120000',
        ...(process.env.BENCH_PROFILE_DIR ? { BENCH_PROFILE_DIR: process.env.BENCH_PROFILE_DIR } : {}) }));
    }
    const perProcess = STORM.callersPerTeam / STORM.processes;
    const fire = () => Promise.all(apps.map(async (a) => {
      const res = await fetch(`${a.url}/bench/storm?callers=${perProcess}`, { method: 'POST' });
      if (res.status !== 201 && res.status !== 200) throw new Error(`storm answered ${res.status}: ${await res.text()}`);
      return ((await res.json()) as {
        data: { calls: number; ok: number; errors: Record<string, number>; statements: Record<string, number>; polls: number; cpuMs: number };
      }).data;
    }));
    const pgBefore = await backendCpuMs(ds, dbName);
    const cpu = process.cpuUsage();
    const started = performance.now();
    const answers = await fire();
    const wallMs = performance.now() - started;
    const fakeCpu = process.cpuUsage(cpu);
    let postgresCpuMs = 0;
    for (const [pid, ms] of await backendCpuMs(ds, dbName)) postgresCpuMs += ms - (pgBefore.get(pid) ?? 0);
    // The limit: the very same calls, every token now valid (no refresh, no wait), in the same run.
    const validStarted = performance.now();
    const valid = await fire();
    const validMs = performance.now() - validStarted;
    if (valid.some((a) => a.ok !== a.calls)) throw new Error(`storm on valid tokens: ${JSON.stringify(valid.map((a) => a.errors))}`);

    const requests = fake.tokenRequests.slice(before).filter((r) => r.grant === 'refresh_token');
    // Lost refresh token: what the row holds is no longer the grant's current token (or the grant died).
    const rows = await ds.getRepository(JiraIntegration).find();
    const lost = rows.filter((r) => !r.refreshToken || r.status !== 'connected'
      || fake.isGrantRevoked(r.refreshToken) || fake.currentRefreshTokenOf(r.refreshToken) !== r.refreshToken).length;
    await ds.destroy();
    const errors: Record<string, number> = {};
    for (const a of answers) for (const [k, v] of Object.entries(a.errors)) errors[k] = (errors[k] ?? 0) + v;
    const concurrency = STORM.processes * STORM.refreshConcurrencyPerProcess;
    const idealMs = (STORM.teams * STORM.tokenLatencyMs) / concurrency;
    const statements: Record<string, number> = {};
    for (const a of answers) for (const [k, v] of Object.entries(a.statements)) statements[k] = (statements[k] ?? 0) + v;
    return {
      teams: STORM.teams,
      calls: answers.reduce((n, a) => n + a.calls, 0),
      okCalls: answers.reduce((n, a) => n + a.ok, 0),
      errors,
      refreshRequests: requests.length,
      successfulRefreshes: requests.filter((r) => r.status === 200).length,
      lostRefreshTokens: lost,
      wallMs,
      idealMs,
      validMs,
      limitMs: Math.max(idealMs, validMs),
      concurrency,
      statements,
      statementsPerTeam: Object.values(statements).reduce((a, b) => a + b, 0) / STORM.teams,
      polls: answers.reduce((n, a) => n + a.polls, 0),
      appCpuMs: answers.map((a) => a.cpuMs),
      postgresCpuMs,
      fakeCpuMs: (fakeCpu.user + fakeCpu.system) / 1000,
    };
  } finally {
    await Promise.all(apps.map((a) => a.stop()));
    await fake.stop();
    await dropBenchDatabase(dbName);
  }
}
