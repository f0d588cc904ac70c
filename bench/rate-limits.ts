import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Test } from '@nestjs/testing';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { AppModule } from '../src/app.module.js';
import { parseRetryAfter } from '../src/integrations/jira/atlassian/atlassian.gateway.js';
import { JiraClient } from '../src/integrations/jira/client/jira-client.js';
import { RateLimitGovernor } from '../src/integrations/jira/client/rate-limit-governor.js';
import { atlassianUnavailable } from '../src/integrations/jira/tokens/jira-token.errors.js';
import { MetricsService } from '../src/integrations/jira/metrics/metrics.service.js';
import { FakeAtlassian } from '../src/integrations/jira/testing/fake-atlassian/fake-atlassian.js';
import { FakeRateLimits } from '../src/integrations/jira/testing/fake-atlassian/rate-limits.js';
import { seedIntegration } from '../test/helpers/jira-seed.js';
import { SMOKE } from './smoke.js';
import { createBenchDatabase, dropBenchDatabase, postgresReachable, sleep } from './support.js';

/*
 * Three tenants against the fake's Atlassian limits (scaled: a 10 s quota window instead of an
 * hour): one greedy tenant (100 concurrent callers, back to back) and two quiet ones (1 caller
 * each, one call every 200 ms). Run with the governor and with the client as it was before it
 * (Retry-After honoured per call, nothing shared), each with and without the greedy tenant.
 */
export const RL = {
  seconds: Number(process.env.BENCH_RL_SECONDS ?? 20),
  windowMs: Number(process.env.BENCH_RL_WINDOW_S ?? 10) * 1000,
  // Low enough that Atlassian's limits bind before this process's own capacity (PGlite: one session).
  burstPerSecond: 40,
  tenantQuota: 200,
  globalQuota: 250,
  greedyCallers: 100,
  quietThinkMs: 200,
  budgetMs: 2000,
  tenantMaxShare: 0.5,
};

export interface TenantFigures {
  calls: number;
  ok: number;
  successRate: number;
  p99Ms: number;
}

export interface RateLimitRun {
  governor: boolean;
  greedy: boolean;
  quiet: TenantFigures;
  greedyFigures?: TenantFigures;
  sentToAtlassian: number;
  atlassian429s: number;
  per1000: number;
  reasons: Record<string, number>;
  /**
   * The governor's own counters: `all` from its metrics (their labels carry no tenant), refusals per
   * tenant role as the bench's callers saw them (503 atlassian_rate_limited).
   */
  governed: Record<string, { paced?: number; rejected: number }>;
  /**
   * What the fake's limits allowed the greedy tenant in the run's windows: per window, its own
   * quota or what the global pool had left after the quiet tenants' successes, whichever is less
   * (the per-second limit never binds in aggregate: each caller walks its own issue keys).
   */
  greedyAllowed?: number;
  /** The greedy tenant's 200s in the run's windows, at the fake. */
  greedyOkInWindows?: number;
  /** Burst 429s in the run's first second (the first concurrent wave). */
  firstWave429s: number;
}

/** Sums every series of `metric` in the Prometheus text. */
function sumAll(text: string, metric: string): number {
  return text.split('\n').filter((l) => l.startsWith(`${metric}{`) || l.startsWith(`${metric} `)).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
}

/** The client before the governor: sleeps Retry-After on each 429 (if it fits the budget), no shared state. */
class RetryAfterOnly {
  async acquire(): Promise<void> {}
  settled(): void {}
  async observe(_call: unknown, res: { status: number; headers: Record<string, string> }): Promise<void> {
    if (res.status !== 429) return;
    const waitS = parseRetryAfter(res.headers['retry-after']) ?? 1;
    if (waitS * 1000 > RL.budgetMs) throw atlassianUnavailable(429, waitS);
    await sleep(waitS * 1000);
  }
}

const p99 = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.99))] : NaN);

function figures(latencies: number[], calls: number): TenantFigures {
  return { calls, ok: latencies.length, successRate: calls ? latencies.length / calls : NaN, p99Ms: p99(latencies) };
}

async function run(governor: boolean, greedy: boolean): Promise<RateLimitRun> {
  const dir = mkdtempSync(join(tmpdir(), 'jc-bench-rl-'));
  // Smoke: on PostgreSQL when it is up (a PGlite start, migrations on WebAssembly, was most of each
  // smoke run); the real run stays on PGlite, whose one session is part of what it measures.
  const pgName = SMOKE && (await postgresReachable()) ? `jc_bench_rl_${process.pid}_${Number(governor)}${Number(greedy)}` : undefined;
  const databaseUrl = pgName ? await createBenchDatabase(pgName) : undefined;
  const fake = await new FakeAtlassian().start();
  const saved = { ...process.env };
  Object.assign(process.env, fake.env(), {
    NODE_ENV: 'development', LOG_LEVEL: 'error', DATA_DIR: dir, JIRA_RETRY_BUDGET_MS: String(RL.budgetMs),
    JIRA_APP_QUOTA_WINDOW_SECONDS: String(RL.windowMs / 1000),
    JIRA_APP_POINTS_PER_HOUR: String((RL.globalQuota * 3_600_000) / RL.windowMs),
    JIRA_TENANT_MAX_SHARE: String(RL.tenantMaxShare),
  });
  if (databaseUrl) process.env.DATABASE_URL = databaseUrl;
  else delete process.env.DATABASE_URL;
  delete process.env.REDIS_URL;
  let builder = Test.createTestingModule({ imports: [AppModule] });
  if (!governor) builder = builder.overrideProvider(RateLimitGovernor).useValue(new RetryAfterOnly());
  const moduleRef = await builder.compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  process.env = saved;
  try {
    const ds = app.get<DataSource>(getDataSourceToken());
    const seed = (name: string) => seedIntegration(ds, fake, { account: FakeAtlassian.account(name, 1), expiresInMs: 3_600_000 });
    const [g, q1, q2] = [await seed('greedy'), await seed('quiet-a'), await seed('quiet-b')];
    const jira = app.get(JiraClient);
    const rl = (fake.rateLimits = new FakeRateLimits({ burstPerSecond: RL.burstPerSecond, tenantQuota: RL.tenantQuota, globalQuota: RL.globalQuota, windowMs: RL.windowMs }));
    await sleep(RL.windowMs - (Date.now() % RL.windowMs) + 20);
    const runStart = Math.floor(Date.now() / RL.windowMs) * RL.windowMs;
    const until = Date.now() + RL.seconds * 1000;

    const caller = async (teamId: string, thinkMs: number, out: { lat: number[]; calls: number; refused: number }) => {
      for (let i = 0; Date.now() < until; i++) {
        const started = Date.now();
        out.calls += 1;
        try {
          await jira.forTeam(teamId).get(`/rest/api/3/issue/B-${i}`);
          out.lat.push(Date.now() - started);
          if (thinkMs) await sleep(thinkMs);
        } catch (err) {
          if ((err as { code?: string }).code === 'atlassian_rate_limited') out.refused += 1;
          // Refused: wait what Retry-After says (at most a second) before the next call.
          await sleep(Math.min(1000, ((err as { retryAfter?: number }).retryAfter ?? 1) * 1000));
        }
      }
    };
    const quiet = { lat: [] as number[], calls: 0, refused: 0 };
    const greedyOut = { lat: [] as number[], calls: 0, refused: 0 };
    await Promise.all([
      caller(q1.teamId, RL.quietThinkMs, quiet),
      caller(q2.teamId, RL.quietThinkMs, quiet),
      ...(greedy ? Array.from({ length: RL.greedyCallers }, () => caller(g.teamId, 0, greedyOut)) : []),
    ]);
    const text = await app.get(MetricsService).render();
    const governed = {
      all: { paced: sumAll(text, 'jira_api_calls_paced_total'), rejected: sumAll(text, 'jira_api_calls_rejected_total') },
      greedy: { rejected: greedyOut.refused },
      quiet: { rejected: quiet.refused },
    };
    const windowsInRun = Math.round((RL.seconds * 1000) / RL.windowMs);
    let greedyAllowed = 0;
    let greedyOkInWindows = 0;
    for (let w = 0; w < windowsInRun; w++) {
      const inW = (r: { at: number; status: number }) => r.status === 200 && r.at >= runStart + w * RL.windowMs && r.at < runStart + (w + 1) * RL.windowMs;
      const quietOk = rl.log.filter((r) => r.cloudId !== g.cloudId && inW(r)).length;
      greedyAllowed += greedy ? Math.min(RL.tenantQuota, RL.globalQuota - quietOk) : 0;
      greedyOkInWindows += rl.log.filter((r) => r.cloudId === g.cloudId && inW(r)).length;
    }
    const rejected = rl.rejected();
    const reasons: Record<string, number> = {};
    for (const r of rejected) reasons[r.reason ?? 'none'] = (reasons[r.reason ?? 'none'] ?? 0) + 1;
    return {
      governor, greedy,
      quiet: figures(quiet.lat, quiet.calls),
      ...(greedy ? { greedyFigures: figures(greedyOut.lat, greedyOut.calls) } : {}),
      sentToAtlassian: rl.log.length,
      atlassian429s: rejected.length,
      per1000: rl.log.length ? (rejected.length * 1000) / rl.log.length : 0,
      reasons,
      governed,
      ...(greedy ? { greedyAllowed, greedyOkInWindows } : {}),
      firstWave429s: rejected.filter((r) => r.reason === 'jira-burst-based' && r.at < runStart + 1000).length,
    };
  } finally {
    await app.close();
    await fake.stop();
    rmSync(dir, { recursive: true, force: true });
    if (pgName) await dropBenchDatabase(pgName);
  }
}

/** The four runs: with/without the governor, with/without the greedy tenant. */
export async function rateLimitBench(): Promise<RateLimitRun[]> {
  const runs: RateLimitRun[] = [];
  for (const governor of [true, false]) {
    for (const greedy of [false, true]) {
      // Smoke: the ungoverned client alone adds nothing the other three runs do not already run.
      if (SMOKE && !governor && !greedy) continue;
      runs.push(await run(governor, greedy));
    }
  }
  return runs;
}

const f = (n: number, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');

/** Prints the runs, the ratios docs/benchmarks.md talks about and the governor's TARGET lines. */
export function printRateLimitRuns(runs: RateLimitRun[]): void {
  for (const r of runs) {
    console.log(`${r.governor ? 'governor ' : 'no govern'} ${r.greedy ? 'greedy+quiet' : 'quiet only  '}  quiet ok ${r.quiet.ok}/${r.quiet.calls} `
      + `(${f(r.quiet.successRate * 100, 1)} %) p99 ${f(r.quiet.p99Ms, 0)} ms`
      + (r.greedyFigures ? `  greedy ok ${r.greedyFigures.ok}/${r.greedyFigures.calls}` : '')
      + `  sent to Atlassian ${r.sentToAtlassian}, 429s ${r.atlassian429s} (${f(r.per1000, 1)} per 1,000) ${JSON.stringify(r.reasons)}, ${r.firstWave429s} burst 429s in the first second`
      + (r.governor ? `  governor paced/refused ${JSON.stringify(r.governed)}` : ''));
  }
  for (const governor of [true, false]) {
    const alone = runs.find((r) => r.governor === governor && !r.greedy);
    const crowded = runs.find((r) => r.governor === governor && r.greedy);
    if (!alone || !crowded) continue;
    console.log(`${governor ? 'with governor   ' : 'without governor'}: quiet tenants with the greedy one vs without: success rate ratio `
      + `${f(crowded.quiet.successRate / alone.quiet.successRate)}, p99 ratio ${f(crowded.quiet.p99Ms / alone.quiet.p99Ms)}; `
      + `429s per 1,000 calls sent: ${f(crowded.per1000, 1)}`);
  }
  const alone = runs.find((r) => r.governor && !r.greedy);
  const crowded = runs.find((r) => r.governor && r.greedy);
  if (!alone || !crowded) return;
  const quiet = crowded.quiet.successRate / alone.quiet.successRate;
  const conserving = (crowded.greedyOkInWindows ?? 0) / (crowded.greedyAllowed || NaN);
  const per1000 = `429s per 1,000 sent: ${f(crowded.per1000, 1)} with the greedy tenant, ${f(alone.per1000, 1)} without`;
  console.log(`TARGET governor-quiet: ${f(quiet, 3)} (target ≥ 0.99) ${quiet >= 0.99 ? 'PASS' : 'FAIL'}  `
    + `[quiet ok ${crowded.quiet.ok}/${crowded.quiet.calls} with the greedy tenant, ${alone.quiet.ok}/${alone.quiet.calls} without; ${per1000}]`);
  console.log(`TARGET governor-work-conserving: ${f(conserving, 3)} (target ≥ 0.9) ${conserving >= 0.9 ? 'PASS' : 'FAIL'}  `
    + `[greedy ok ${crowded.greedyOkInWindows} of the ${crowded.greedyAllowed} the fake's limits allowed it in ${RL.seconds} s; ${per1000}]`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // Standalone: node dist-bench/bench/rate-limits.js (npm run bench runs it as one of its parts).
  rateLimitBench().then((runs) => {
    printRateLimitRuns(runs);
    process.exit(0);
  }, (err: unknown) => {
    console.error('rate-limit bench failed:', err);
    process.exit(1);
  });
}
