import { SMOKE } from './smoke.js'; // first: sets the smoke sizes before the sections read them
import { cpus, loadavg, totalmem } from 'node:os';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { JiraIntegration } from '../src/integrations/jira/entities/jira-integration.entity.js';
import { CONNECTIONS, hammer, ratios, type LoadResult } from './load.js';
import { refreshStorm, STORM, type StormResult } from './storm.js';
import { SLOW, slowAtlassian, type SlowAtlassianResult } from './slow-atlassian.js';
import { printRateLimitRuns, rateLimitBench, RL } from './rate-limits.js';
import { webhookThroughput } from './webhooks.js';
import { PROXY, proxyBench } from './proxy.js';
import { IDLE, idleStatements } from './idle.js';
import { SCALE, scaleBench } from './scale.js';
import {
  createBenchDatabase, dropBenchDatabase, median, openDatabase, postgresReachable, seedTeam, sleep, startApp,
} from './support.js';

/*
 * npm run bench: every figure is a ratio measured in one run on one machine (see bench/RESULTS.md).
 * Needs PostgreSQL on 127.0.0.1:5432 (or BENCH_PG_URL) for the PostgreSQL parts; skips them otherwise.
 */
const here = fileURLToPath(new URL('.', import.meta.url));
const APP_MAIN = join(here, '../src/main.js'); // what `npm start` runs, built by the same tsc
const BENCH_MAIN = join(here, 'main.js');
const STARTS = Number(process.env.BENCH_STARTS ?? 3);
const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? 3000);

type Db = { kind: 'pglite' | 'postgres'; env: () => Promise<{ env: Record<string, string>; cleanup: () => Promise<void> }> };

function pglite(): Db {
  return {
    kind: 'pglite',
    env: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'jc-bench-'));
      // App processes run with NODE_ENV=production, which refuses the embedded database unless allowed.
      return { env: { DATA_DIR: dir, ALLOW_EMBEDDED_DATABASE: 'true' }, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  };
}

function postgres(tag: string): Db {
  const name = `jc_bench_${tag}_${process.pid}`;
  return {
    kind: 'postgres',
    env: async () => ({ env: { DATABASE_URL: await createBenchDatabase(name) }, cleanup: () => dropBenchDatabase(name) }),
  };
}

/** Start-up time to the first healthy answer, and resident memory after IDLE_MS idle. */
async function startup(db: Db): Promise<{ kind: string; firstStartMs: number; startMs: number; idleRssMb: number }> {
  const { env, cleanup } = await db.env();
  try {
    const times: number[] = [];
    const rss: number[] = [];
    for (let i = 0; i < STARTS; i++) {
      const app = await startApp(APP_MAIN, env);
      times.push(app.startupMs);
      await sleep(IDLE_MS);
      rss.push(app.rssMb());
      await app.stop();
    }
    // The first PGlite start creates the database and migrates it; later starts open it.
    return { kind: db.kind, firstStartMs: times[0], startMs: median(times.slice(1)), idleRssMb: median(rss) };
  } finally {
    await cleanup();
  }
}

/** Status and getAccessToken against the floor, on one app process. */
async function throughput(db: Db): Promise<{ kind: string; results: LoadResult[] }> {
  const { env, cleanup } = await db.env();
  try {
    const ds = await openDatabase(env);
    const team = await seedTeam(ds, `bench-${Date.now()}`);
    await ds.getRepository(JiraIntegration).insert({
      teamId: team.teamId, status: 'connected', cloudId: 'cloud-bench', siteUrl: 'https://bench.atlassian.net', siteName: 'bench',
      scopes: ['read:jira-user', 'read:jira-work', 'offline_access'], accessToken: `at-bench-${'x'.repeat(300)}`,
      refreshToken: `rt-bench-${'y'.repeat(300)}`, accessTokenExpiresAt: new Date(Date.now() + 3_600_000),
      connectedAt: new Date(), connectedByUserId: team.userId,
    });
    await ds.destroy();
    const app = await startApp(BENCH_MAIN, env);
    try {
      const headers = { authorization: `Bearer ${team.token}`, 'x-team-id': team.teamId };
      const results = await hammer([
        { route: 'floor (auth + team guard + 1 SELECT)', url: `${app.url}/bench/floor`, headers },
        { route: 'GET /oauth/status', url: `${app.url}/api/integrations/jira/oauth/status`, headers },
        { route: 'getAccessToken (valid token)', url: `${app.url}/bench/token`, headers },
        { route: 'bare floor (no auth, 1 SELECT)', url: `${app.url}/bench/floor-public?team=${team.teamId}`, headers: {} },
      ]);
      return { kind: db.kind, results };
    } finally {
      await app.stop();
    }
  } finally {
    await cleanup();
  }
}

const fmt = (n: number, digits = 0) => n.toFixed(digits);
/**
 * Smoke: a section whose code is the same on both databases runs on one of them (`which`: the
 * first or the last of the list). Between them the sections still start the app processes on
 * both, and both entry points on the embedded database under NODE_ENV=production (what broke a
 * fresh clone's bench): webhooks and start-up on PGlite, throughput, storm, slow and proxy on
 * PostgreSQL.
 */
const smokeOne = (dbs: Db[], which: 'first' | 'last'): Db[] => (SMOKE ? (which === 'first' ? dbs.slice(0, 1) : dbs.slice(-1)) : dbs);

/** BENCH_ONLY=storm,slow runs just those sections (throughput, startup, storm, slow, webhooks, proxy, ratelimits, idle, scale); default: all. */
const only = (process.env.BENCH_ONLY ?? '').split(',').map((s) => s.trim()).filter(Boolean);
const runs = (section: string): boolean => only.length === 0 || only.includes(section);

async function main(): Promise<void> {
  const began = performance.now();
  const machine = { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memGiB: Math.round(totalmem() / 2 ** 30), node: process.version };
  if (SMOKE) console.log('SMOKE: every section at small sizes; the figures below only prove that each section runs.');
  console.log(`machine: ${machine.cpus} × ${machine.cpu}, ${machine.memGiB} GiB, node ${machine.node}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const havePg = await postgresReachable();
  if (!havePg) console.log('PostgreSQL is not reachable at BENCH_PG_URL / 127.0.0.1:5432: skipping the PostgreSQL parts (throughput on PostgreSQL, refresh storm).');
  const dbs: Db[] = [pglite(), ...(havePg ? [postgres('load')] : [])];
  const report: Record<string, unknown> = { machine };
  /** Correctness failures (not slowness): they make the bench exit non-zero. */
  const failures: string[] = [];

  if (runs('webhooks')) console.log(`\n== Jira webhook deliveries acknowledged per second at ${CONNECTIONS} concurrent senders, as a ratio to the floor`);
  const hookRuns = [];
  for (const db of runs('webhooks') ? smokeOne([pglite(), ...(havePg ? [postgres('hooks')] : [])], 'first') : []) {
    const { env, cleanup } = await db.env();
    try {
      const h = await webhookThroughput(BENCH_MAIN, db.kind, env);
      hookRuns.push(h);
      console.log(`${h.kind.padEnd(8)} floor ${fmt(h.floor.rps).padStart(6)} req/s  webhooks ${fmt(h.webhooks.rps).padStart(6)} acks/s  ratio ${fmt(h.ratio, 2)}  `
        + `p99 ${fmt(h.webhooks.p99Ms, 1)} ms  non-2xx ${h.webhooks.non2xx}  acknowledged ${h.acknowledged}  stored ${h.stored}  handled ${h.handled}  lost ${h.lost}`);
      if (h.lost !== 0 || h.webhooks.non2xx > 0 || h.webhooks.errors > 0) failures.push(`${h.kind} webhooks: lost ${h.lost}, non-2xx ${h.webhooks.non2xx}`);
    } finally {
      await cleanup();
    }
  }
  report.webhooks = hookRuns;

  if (runs('throughput')) console.log(`\n== throughput and p99 at ${CONNECTIONS} connections, as ratios to the floor (target ≥ 0.80, zero non-2xx)`);
  const loads = [];
  for (const db of runs('throughput') ? smokeOne(dbs, 'last') : []) {
    const { kind, results } = await throughput(db);
    loads.push({ kind, results });
    const floor = results[0];
    for (const r of results) {
      const q = ratios(r, floor);
      console.log(`${kind.padEnd(8)} ${r.route.padEnd(38)} ${fmt(r.rps).padStart(6)} req/s  p99 ${fmt(r.p99Ms, 1).padStart(6)} ms  `
        + `throughput ratio ${fmt(q.throughput, 2)}  p99 ratio ${fmt(q.p99, 2)}  non-2xx ${r.non2xx}  errors ${r.errors}`);
      if (r.non2xx > 0 || r.errors > 0) failures.push(`${kind} ${r.route}: ${r.non2xx} non-2xx, ${r.errors} errors`);
    }
  }
  report.throughput = loads;

  if (runs('startup')) console.log(`\n== start-up (to the first 200 from /health) and idle RSS of \`npm start\` (node dist/src/main.js)`);
  const starts = [];
  for (const db of runs('startup') ? smokeOne([pglite(), ...(havePg ? [postgres('start')] : [])], 'first') : []) {
    const s = await startup(db);
    starts.push(s);
    console.log(`${s.kind.padEnd(8)} first start ${fmt(s.firstStartMs)} ms, later starts ${fmt(s.startMs)} ms (median of ${STARTS - 1}), idle RSS ${fmt(s.idleRssMb, 1)} MiB`);
  }
  report.startup = starts;

  if (havePg && runs('storm')) {
    console.log(`\n== refresh storm: ${STORM.teams} teams expiring at once, ${STORM.callersPerTeam} callers per team, ${STORM.processes} processes, ${STORM.tokenLatencyMs} ms token latency`);
    const s: StormResult = await refreshStorm(BENCH_MAIN);
    report.storm = s;
    const verdict = s.successfulRefreshes === s.teams && s.refreshRequests === s.teams && s.lostRefreshTokens === 0 && s.okCalls === s.calls;
    console.log(`calls ${s.okCalls}/${s.calls} ok ${JSON.stringify(s.errors)}; refreshes ${s.successfulRefreshes} successful of ${s.refreshRequests} made `
      + `(want exactly ${s.teams}); lost refresh tokens ${s.lostRefreshTokens}`);
    const ratio = s.wallMs / s.limitMs;
    console.log(`TARGET storm: ${fmt(ratio, 2)} × limit (target ≤ 1.3) ${verdict && ratio <= 1.3 ? 'PASS' : 'FAIL'}  `
      + `[wall ${fmt(s.wallMs)} ms; limit ${fmt(s.limitMs)} ms = max(latency ideal ${fmt(s.idealMs)} ms = ${s.teams} × ${STORM.tokenLatencyMs} ms / ${s.concurrency} in flight, `
      + `the same ${s.calls} calls on valid tokens ${fmt(s.validMs)} ms); old ideal: ${fmt(s.wallMs / s.idealMs, 2)} × ideal; `
      + `load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}]`);
    console.log(`TARGET storm statements: ${fmt(s.statementsPerTeam, 2)} per team (target ≤ 3.5) ${s.statementsPerTeam <= 3.5 ? 'PASS' : 'FAIL'}  `
      + `${JSON.stringify(s.statements)}; shared lease polls ${s.polls}`);
    const cpuMs = s.appCpuMs.reduce((a, b) => a + b, 0) + s.fakeCpuMs + s.postgresCpuMs;
    console.log(`CPU during the storm: app processes ${s.appCpuMs.map((c) => fmt(c)).join(' + ')} ms, bench process (fake Atlassian) ${fmt(s.fakeCpuMs)} ms, `
      + `PostgreSQL backends ${fmt(s.postgresCpuMs)} ms; `
      + `${fmt(cpuMs / s.wallMs, 2)} cores busy on average over the wall time`);
    // Why the limit above is out of reach here: the storm is CPU-bound. Its CPU work (refreshes:
    // claims, token calls, sealing, writes) spread over every core is a floor the latency ideal and
    // the valid-token run do not count. Reported beside the issue's line, not instead of it.
    const cpuFloorMs = cpuMs / cpus().length;
    console.log(`storm against its CPU floor: ${fmt(s.wallMs / cpuFloorMs, 2)} × (wall ${fmt(s.wallMs)} ms; floor ${fmt(cpuFloorMs)} ms = ${fmt(cpuMs)} CPU-ms `
      + `over ${cpus().length} cores; ${fmt(cpuMs / s.teams, 2)} CPU-ms per refreshed team, of which the app ${fmt(s.appCpuMs.reduce((a, b) => a + b, 0) / s.teams, 2)})`);
    if (!verdict) failures.push('refresh storm');
  }

  if (havePg && runs('slow')) {
    console.log(`\n== slow Atlassian: ${SLOW.teams} teams refreshing against a ${SLOW.tokenLatencyMs / 1000} s token endpoint while another team's status is measured`);
    const r: SlowAtlassianResult = await slowAtlassian(BENCH_MAIN);
    report.slowAtlassian = r;
    const ratio = r.statusDuringP99Ms / Math.max(r.floorP99Ms, 0.001);
    const verdict = r.status5xx === 0 && r.statusErrors === 0 && r.healthNon200 === 0 && r.successfulRefreshes === r.teams
      && r.refreshRequests === r.teams && r.lostRefreshTokens === 0 && r.refreshOk === r.refreshCalls;
    console.log(`TARGET slow-atlassian: ${fmt(ratio, 2)} × floor (target ≤ 2) ${ratio <= 2 && verdict ? 'PASS' : 'FAIL'}  `
      + `[status p99 during the refreshes ${fmt(r.statusDuringP99Ms, 1)} ms (${fmt(r.statusDuringRps)} req/s) vs floor p99 ${fmt(r.floorP99Ms, 1)} ms `
      + `(status p99 with no refresh ${fmt(r.statusQuietP99Ms, 1)} ms); status 5xx ${r.status5xx}, other errors ${r.statusErrors}]`);
    console.log(`same window: floor p99 while refreshing ${fmt(r.floorDuringP99Ms, 1)} ms, status/floor ${fmt(r.statusDuringP99Ms / Math.max(r.floorDuringP99Ms, 0.001), 2)}; `
      + `status quiet/floor quiet ${fmt(r.statusQuietP99Ms / Math.max(r.floorP99Ms, 0.001), 2)}`);
    console.log(`/health: ${r.healthChecks - r.healthNon200}/${r.healthChecks} answered 200; refresh calls ${r.refreshOk}/${r.refreshCalls} ok ${JSON.stringify(r.refreshErrors)}; `
      + `refreshes ${r.successfulRefreshes} successful of ${r.refreshRequests} (want exactly ${r.teams}); lost refresh tokens ${r.lostRefreshTokens}  ${verdict ? 'PASS' : 'FAIL'}`);
    if (!verdict) failures.push('slow Atlassian');
  }
  if (havePg && runs('proxy')) {
    console.log(`\n== Jira proxy on PostgreSQL: GET /rest/api/3/myself proxied vs sent straight to the same fake Atlassian `
      + `(${PROXY.rounds} × ${PROXY.requestsPerRound} sequential requests each, alternating; then throughput at ${CONNECTIONS} connections)`);
    const r = await proxyBench(BENCH_MAIN);
    report.proxy = r;
    console.log(`direct  p50 ${fmt(r.direct.p50Ms, 2)} ms  p99 ${fmt(r.direct.p99Ms, 2)} ms`);
    console.log(`proxied p50 ${fmt(r.proxied.p50Ms, 2)} ms  p99 ${fmt(r.proxied.p99Ms, 2)} ms  →  added p50 ${fmt(r.addedP50Ms, 2)} ms, added p99 ${fmt(r.addedP99Ms, 2)} ms`);
    console.log(`floor   p50 ${fmt(r.floor.p50Ms, 2)} ms  p99 ${fmt(r.floor.p99Ms, 2)} ms (auth + team guard + 1 SELECT, for scale); `
      + `app CPU per request: floor ${fmt(r.appCpuMsPerRequest.floor, 2)} ms, proxied ${fmt(r.appCpuMsPerRequest.proxied, 2)} ms`);
    for (const l of r.load) {
      console.log(`${l.route.padEnd(40)} ${fmt(l.rps).padStart(6)} req/s  p50 ${fmt(l.p50Ms, 1)} ms  p99 ${fmt(l.p99Ms, 1)} ms  non-2xx ${l.non2xx}  errors ${l.errors}`);
      if (l.non2xx > 0 || l.errors > 0) failures.push(`proxy bench ${l.route}: ${l.non2xx} non-2xx, ${l.errors} errors`);
    }
    console.log(`proxied throughput ÷ floor ${fmt(r.throughputRatio, 2)} (load average ${loadavg().map((l) => l.toFixed(1)).join(' ')})`);
    console.log(`TARGET proxy-added-p50: ${fmt(r.addedP50Ms, 2)} ms (target ≤ ${PROXY.targetAddedP50Ms} ms) ${r.addedP50Ms <= PROXY.targetAddedP50Ms ? 'PASS' : 'FAIL'}`);
  }

  if (runs('ratelimits')) {
    console.log(`\n== Atlassian rate limits: 3 tenants (1 greedy with ${RL.greedyCallers} callers, 2 quiet with 1 each), ${RL.seconds} s per run, fake limits scaled to a ${RL.windowMs / 1000} s window`);
    report.rateLimits = await rateLimitBench();
    printRateLimitRuns(report.rateLimits as Awaited<ReturnType<typeof rateLimitBench>>);
  }

  if (havePg && runs('idle')) {
    console.log(`\n== idle statements on PostgreSQL: every background feature configured, nothing happening, `
      + `${fmt(IDLE.windowMs / 1000)} s counted after ${fmt(IDLE.settleMs / 1000)} s of settling, at ${IDLE.teams.join(' and ')} connected teams`);
    const idle = await idleStatements(BENCH_MAIN);
    report.idle = idle;
    for (const r of idle) {
      console.log(`${String(r.teams).padStart(6)} teams: ${r.statements} statements in ${fmt(r.windowMs / 1000, 1)} s = ${fmt(r.perMinute, 1)} a minute  ${JSON.stringify(r.byKind)}`);
    }
    const worst = Math.max(...idle.map((r) => r.perMinute));
    console.log(`TARGET idle-statements: ${fmt(worst, 1)} a minute (target ≤ 12, at every size) ${worst <= 12 ? 'PASS' : 'FAIL'}  `
      + `[${idle.map((r) => `${r.teams} teams ${fmt(r.perMinute, 1)}`).join(', ')}]`);
  }

  if (havePg && runs('scale')) {
    console.log(`\n== scale on PostgreSQL: ${SCALE.small} against ${SCALE.large} connected teams, one app each, both running, every background feature configured`);
    const r = await scaleBench(BENCH_MAIN);
    report.scale = r;
    for (const side of [r.small, r.large]) {
      console.log(`${String(side.teams).padStart(7)} teams (seeded in ${fmt(side.seedMs / 1000, 1)} s): idle RSS ${fmt(side.idleRssMb, 1)} MiB, /metrics series ${side.metricsSeries}, `
        + `idle statements ${fmt(side.idleStatementsPerMinute, 1)} a minute ${JSON.stringify(side.idleByKind)}`);
      for (const l of [side.status, side.token]) {
        console.log(`        ${l.route.padEnd(28)} ${fmt(l.rps).padStart(6)} req/s  p50 ${fmt(l.p50Ms, 1)} ms  p99 ${fmt(l.p99Ms, 1)} ms  non-2xx ${l.non2xx}  errors ${l.errors}`);
        if (l.non2xx > 0 || l.errors > 0) failures.push(`scale ${l.route}: ${l.non2xx} non-2xx, ${l.errors} errors`);
      }
    }
    const p99 = (side: typeof r.small) => Math.max(side.status.p99Ms, side.token.p99Ms);
    const hot = p99(r.large) / Math.max(p99(r.small), 0.001);
    const rss = r.large.idleRssMb / r.small.idleRssMb;
    console.log(`TARGET scale-hot-p99: ${fmt(hot, 2)} × (target ≤ 1.2) ${hot <= 1.2 ? 'PASS' : 'FAIL'}  [worse p99 of status and getAccessToken: ${fmt(p99(r.large), 1)} ms at ${r.large.teams} teams, ${fmt(p99(r.small), 1)} ms at ${r.small.teams}]`);
    console.log(`TARGET scale-rss: ${fmt(rss, 2)} × (target ≤ 1.2) ${rss <= 1.2 ? 'PASS' : 'FAIL'}  [${fmt(r.large.idleRssMb, 1)} MiB against ${fmt(r.small.idleRssMb, 1)} MiB]`);
    console.log(`TARGET metrics-series: ${r.large.metricsSeries} at ${r.large.teams} teams, ${r.small.metricsSeries} at ${r.small.teams} (target equal) ${r.large.metricsSeries === r.small.metricsSeries ? 'PASS' : 'FAIL'}`);
    for (const p of r.plans) {
      const how = `${p.seqScan ? 'sequential scan' : 'indexes only'} at ${r.large.teams} teams`;
      if (p.sweep) console.log(`TARGET scale-sweep-plan (${p.name}): ${how} (target: no sequential scan) ${p.seqScan ? 'FAIL' : 'PASS'}`);
      else console.log(`plan (${p.name}): ${how}`);
      for (const line of p.plan) console.log(`        ${line}`);
    }
  }

  mkdirSync(join(here, '../../bench/.out'), { recursive: true });
  const outName = process.env.BENCH_SMOKE_GROUP ? `results-smoke-${only.join('-')}.json` : 'results.json';
  writeFileSync(join(here, '../../bench/.out', outName), JSON.stringify(report, null, 2));
  if (failures.length) console.log(`\nFAILED: ${failures.join('; ')}`);
  process.exitCode = failures.length ? 1 : 0;
  console.log(`\nbench finished in ${fmt((performance.now() - began) / 1000, 1)} s (raw figures: bench/.out/${outName})`);
}

/**
 * `--smoke` with no BENCH_ONLY: the sections in four child processes at once, their outputs printed
 * in order. Smoke figures mean nothing, so sharing the cores costs nothing but shortens the wait
 * (CI runs this on every change). Each group is bounded (10 minutes); the exit code is the worst one.
 * The groups pair a section that mostly waits with ones that compute, each about 25 to 30 s alone
 * (seconds of wall / CPU per section alone on a 2-core machine, 2026-12-06: webhooks 14.7 / 14.0,
 * ratelimits 15.8 / 3.2, scale 15.5 / 13.0, idle 6.2 / 3.4, storm 6.5 / 5.3, startup 12.7 / 11.5,
 * proxy 12.5 / 11.8, throughput 12.0 / 9.6, slow 9.2 / 7.8); in three groups the longest (50 s of
 * wall alone) was the step's tail.
 */
async function smokeInGroups(): Promise<number> {
  const groups = [['webhooks', 'ratelimits'], ['scale', 'idle', 'storm'], ['startup', 'proxy'], ['throughput', 'slow']];
  const results = await Promise.all(groups.map((sections) => new Promise<{ out: string; code: number }>((resolve) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--smoke'], {
      env: { ...process.env, BENCH_ONLY: sections.join(','), BENCH_SMOKE_GROUP: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const bound = setTimeout(() => {
      out += `\nbench smoke: sections ${sections.join(', ')} still running after 10 minutes: stopped\n`;
      child.kill('SIGKILL');
    }, 600_000);
    child.on('close', (code) => {
      clearTimeout(bound);
      resolve({ out, code: code ?? 1 });
    });
  })));
  for (const r of results) process.stdout.write(r.out);
  return Math.max(...results.map((r) => r.code));
}

const entry = SMOKE && only.length === 0 ? smokeInGroups().then((code) => { process.exitCode = code; }) : main();
entry.then(() => process.exit(), (err: unknown) => {
  console.error('bench failed:', err instanceof Error ? err.message : err);
  process.exit(1);
});
