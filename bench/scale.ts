import { JiraIntegration } from '../src/integrations/jira/entities/jira-integration.entity.js';
import { keepAliveCandidates } from '../src/integrations/jira/tokens/jira-keepalive.job.js';
import { backfillRegistrations, claimDueRegistration } from '../src/integrations/jira/webhooks/jira-webhook-renewal.job.js';
import type { AppDataSource } from '../src/database/data-source.js';
import { FakeAtlassian } from '../src/integrations/jira/testing/fake-atlassian/fake-atlassian.js';
import { everyFeature } from './idle.js';
import { hammer, type LoadResult } from './load.js';
import { createBenchDatabase, dropBenchDatabase, openDatabase, seedTeam, sleep, startApp, type AppProcess } from './support.js';

/**
 * Scale (issue 18, item 10): the same app with SCALE.small and SCALE.large connected teams in
 * PostgreSQL, both running at once with every background feature configured: the hot path's p99
 * (status and getAccessToken of one team, interleaved rounds against both apps), idle RSS, the
 * /metrics series count, idle statements a minute, and the plans of the keep-alive's and the
 * webhook renewal's sweep queries on the large database.
 */
export const SCALE = {
  small: Number(process.env.BENCH_SCALE_SMALL ?? 1_000),
  large: Number(process.env.BENCH_SCALE_LARGE ?? 100_000),
  idleWindowMs: Number(process.env.BENCH_SCALE_IDLE_S ?? 30) * 1000,
  settleMs: Number(process.env.BENCH_IDLE_MS ?? 3000),
};

export interface ScaleSide {
  teams: number;
  seedMs: number;
  idleRssMb: number;
  metricsSeries: number;
  idleStatementsPerMinute: number;
  idleByKind: Record<string, number>;
  status: LoadResult;
  token: LoadResult;
}

export interface ScaleResult {
  small: ScaleSide;
  large: ScaleSide;
  /** EXPLAIN of each sweep on the large database, and whether jira_integrations is read by a sequential scan. */
  plans: { name: string; plan: string[]; seqScan: boolean; sweep: boolean }[];
}

const SCOPES = ['read:jira-user', 'read:jira-work', 'manage:jira-webhook', 'offline_access'];

/** `teams` connected integrations (tokens valid for an hour, a webhook registration each), plus one team with a member to call as. */
async function seed(url: string, teams: number, fake: FakeAtlassian) {
  const ds = await openDatabase({ DATABASE_URL: url });
  try {
    const started = performance.now();
    const site = fake.account.sites[0];
    const valid = new Date(Date.now() + 3_600_000);
    // Refreshed at spread times over the last 60 days: some rows are the keep-alive's candidates.
    const day = 24 * 3_600_000;
    for (let i = 0; i < teams; i += 2_000) {
      const n = Math.min(2_000, teams - i);
      await ds.getRepository(JiraIntegration).insert(Array.from({ length: n }, (_, j) => {
        const refreshed = new Date(Date.now() - ((i + j) % 60) * day);
        return {
          teamId: `scale-${i + j}`, status: 'connected' as const, cloudId: site.id, siteUrl: site.url, siteName: site.name, scopes: SCOPES,
          accessToken: `at-scale-${i + j}`, refreshToken: `rt-scale-${i + j}`, accessTokenExpiresAt: valid, connectedAt: refreshed, lastRefreshedAt: refreshed,
        };
      }));
    }
    await ds.query(
      `INSERT INTO jira_webhook_registrations (team_id, cloud_id, site_url, state, webhooks, webhook_ids, expires_at, next_check_at)
       SELECT team_id, cloud_id, site_url, 'active', '[]'::jsonb, '{}', now() + (1 + (hashtext(team_id) & 29)) * interval '1 day',
              now() + (1 + (hashtext(team_id) & 23)) * interval '1 hour'
         FROM jira_integrations`);
    const caller = await seedTeam(ds, `scale-caller-${teams}`);
    await ds.getRepository(JiraIntegration).insert({
      teamId: caller.teamId, status: 'connected', cloudId: site.id, siteUrl: site.url, siteName: site.name, scopes: SCOPES,
      accessToken: `at-caller-${'x'.repeat(300)}`, refreshToken: `rt-caller-${'y'.repeat(300)}`, accessTokenExpiresAt: valid,
      connectedAt: new Date(), connectedByUserId: caller.userId,
    });
    await ds.query('ANALYZE');
    return { caller, seedMs: performance.now() - started };
  } finally {
    await ds.destroy();
  }
}

/** Notifications go to a port nothing listens on: nothing is written while idle, so nothing is sent. */
const FEATURES = (fake: FakeAtlassian) => everyFeature(fake, 'http://127.0.0.1:9/notifications');

async function statements(app: AppProcess, reset: boolean): Promise<{ total: number; byKind: Record<string, number> }> {
  const res = await fetch(`${app.url}/bench/statements${reset ? '?reset=1' : ''}`);
  if (res.status !== 200) throw new Error(`/bench/statements answered ${res.status}`);
  return ((await res.json()) as { data: { total: number; byKind: Record<string, number> } }).data;
}

const seriesOf = (text: string): number => text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#')).length;

/** The sweeps, the very statements the jobs send (built by the jobs' exported query builders). */
const SWEEPS: { name: string; statement: (ds: AppDataSource) => [string, unknown[]]; sweep: boolean }[] = [
  {
    name: 'keep-alive candidates',
    statement: (ds) => keepAliveCandidates(ds, new Date(Date.now() - 30 * 24 * 3_600_000), [], new Date()).getQueryAndParameters(),
    sweep: true,
  },
  {
    name: 'webhook renewal backfill (daily)',
    statement: (ds) => backfillRegistrations(ds, new Date()).getQueryAndParameters(),
    // Not a sweep: a process's first run and then daily (an anti-join reads every integration).
    sweep: false,
  },
  {
    name: 'webhook renewal due',
    statement: (ds) => claimDueRegistration(ds, new Date(), new Date(Date.now() + 60_000), new Date(Date.now() + 7 * 24 * 3_600_000), [])
      .getQueryAndParameters(),
    sweep: true,
  },
];

async function plans(url: string): Promise<ScaleResult['plans']> {
  const ds = await openDatabase({ DATABASE_URL: url });
  try {
    const out: ScaleResult['plans'] = [];
    for (const s of SWEEPS) {
      // EXPLAIN only (no ANALYZE): the INSERT and the UPDATE are not run.
      const [sql, params] = s.statement(ds);
      const rows = (await ds.query(`EXPLAIN ${sql}`, params)) as { 'QUERY PLAN': string }[];
      const plan = rows.map((r) => r['QUERY PLAN']);
      out.push({ name: s.name, plan, sweep: s.sweep, seqScan: plan.some((l) => /Seq Scan on (jira_integrations|jira_webhook_registrations)/.test(l)) });
    }
    return out;
  } finally {
    await ds.destroy();
  }
}

export async function scaleBench(entry: string): Promise<ScaleResult> {
  const fake = await new FakeAtlassian({ expiresInSeconds: 3600 }).start();
  const names = { small: `jc_bench_scale_s_${process.pid}`, large: `jc_bench_scale_l_${process.pid}` };
  const apps: AppProcess[] = [];
  try {
    const urls = { small: await createBenchDatabase(names.small), large: await createBenchDatabase(names.large) };
    const seeded = { small: await seed(urls.small, SCALE.small, fake), large: await seed(urls.large, SCALE.large, fake) };
    const small = await startApp(entry, { DATABASE_URL: urls.small, ...FEATURES(fake) });
    apps.push(small);
    const large = await startApp(entry, { DATABASE_URL: urls.large, ...FEATURES(fake) });
    apps.push(large);
    await sleep(SCALE.settleMs);
    const rss = { small: small.rssMb(), large: large.rssMb() };
    // Idle statements, both apps over the same window.
    await Promise.all([statements(small, true), statements(large, true)]);
    const windowStart = performance.now();
    await sleep(SCALE.idleWindowMs);
    const [idleSmall, idleLarge] = await Promise.all([statements(small, false), statements(large, false)]);
    const windowMs = performance.now() - windowStart;
    const perMinute = (n: number) => (n * 60_000) / windowMs;
    const target = (app: AppProcess, side: 'small' | 'large', route: string, path: string) => ({
      route: `${side} ${route}`, url: `${app.url}${path}`,
      headers: { authorization: `Bearer ${seeded[side].caller.token}`, 'x-team-id': seeded[side].caller.teamId },
    });
    const [statusSmall, statusLarge, tokenSmall, tokenLarge] = await hammer([
      target(small, 'small', 'GET /oauth/status', '/api/integrations/jira/oauth/status'),
      target(large, 'large', 'GET /oauth/status', '/api/integrations/jira/oauth/status'),
      target(small, 'small', 'getAccessToken', '/bench/token'),
      target(large, 'large', 'getAccessToken', '/bench/token'),
    ]);
    const metrics = { small: seriesOf(await (await fetch(`${small.url}/metrics`)).text()), large: seriesOf(await (await fetch(`${large.url}/metrics`)).text()) };
    return {
      small: { teams: SCALE.small, seedMs: seeded.small.seedMs, idleRssMb: rss.small, metricsSeries: metrics.small,
        idleStatementsPerMinute: perMinute(idleSmall.total), idleByKind: idleSmall.byKind, status: statusSmall, token: tokenSmall },
      large: { teams: SCALE.large, seedMs: seeded.large.seedMs, idleRssMb: rss.large, metricsSeries: metrics.large,
        idleStatementsPerMinute: perMinute(idleLarge.total), idleByKind: idleLarge.byKind, status: statusLarge, token: tokenLarge },
      plans: await plans(urls.large),
    };
  } finally {
    for (const app of apps) await app.stop();
    await fake.stop();
    await dropBenchDatabase(names.small);
    await dropBenchDatabase(names.large);
  }
}
