import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { signHs256Token } from '../src/auth/sign-token.js';
import { readAuthSettings } from '../src/config/auth.config.js';
import { FakeAtlassian } from '../src/integrations/jira/testing/fake-atlassian/fake-atlassian.js';
import { seedIntegration } from '../test/helpers/jira-seed.js';
import { hammer, type LoadResult } from './load.js';
import { createBenchDatabase, dropBenchDatabase, openDatabase, startApp, type AppProcess } from './support.js';

export const PROXY = {
  /** Sequential requests per latency round, per target; rounds alternate direct and proxied. */
  requestsPerRound: Number(process.env.BENCH_PROXY_REQUESTS ?? 1500),
  rounds: 3,
  targetAddedP50Ms: 2,
};

export interface ProxyBenchResult {
  direct: { p50Ms: number; p99Ms: number };
  proxied: { p50Ms: number; p99Ms: number };
  /** The floor route (auth + team guard + 1 SELECT), one request at a time: what any API call costs here. */
  floor: { p50Ms: number; p99Ms: number };
  addedP50Ms: number;
  addedP99Ms: number;
  /** The app process's CPU time per request (user + system), less sensitive to a loaded machine than latency. */
  appCpuMsPerRequest: { floor: number; proxied: number };
  load: LoadResult[];
  /** Proxied requests per second ÷ the floor route's, both at CONNECTIONS connections. */
  throughputRatio: number;
  fakeRequests: number;
}

const percentile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

/** User + system CPU time of a process so far, in ms (Linux /proc). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

/** One keep-alive connection, one request at a time: latency without queueing. */
async function sequential(agent: Agent, url: string, headers: Record<string, string>, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(url, { agent, headers }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end();
    });
    if (status !== 200) throw new Error(`${url} answered ${status}`);
    out.push(performance.now() - started);
  }
  return out;
}

/**
 * The proxy's cost on PostgreSQL: `GET /rest/api/3/myself` through the SPA proxy against the same
 * request sent straight to the fake Atlassian (same process, same token), in one run. Latency is
 * measured one request at a time (what the proxy adds, without queueing), alternating rounds;
 * throughput at CONNECTIONS connections against the floor route (auth + team guard + 1 SELECT).
 */
export async function proxyBench(entry: string): Promise<ProxyBenchResult> {
  const dbName = `jc_bench_proxy_${process.pid}`;
  const url = await createBenchDatabase(dbName);
  const fake = await new FakeAtlassian().start();
  let app: AppProcess | undefined;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const ds = await openDatabase({ DATABASE_URL: url });
    const seeded = await seedIntegration(ds, fake, { expiresInMs: 3_600_000 });
    const [user] = await ds.query('INSERT INTO users (email) VALUES ($1) RETURNING id', ['proxy-bench@bench.test']);
    await ds.query(`INSERT INTO team_members (team_id, user_id, role) VALUES ($1, $2, 'member')`, [seeded.teamId, user.id]);
    await ds.destroy();
    const token = await signHs256Token(readAuthSettings(), user.id, 3600);
    app = await startApp(entry, {
      DATABASE_URL: url, ...fake.env(), JIRA_PROXY_RATE_LIMIT_PER_USER: '1000000', JIRA_APP_POINTS_PER_HOUR: '100000000',
      // This fake imposes no per-second limit and reports none: without this the governor would pace
      // one endpoint at its assumed default (JIRA_BURST_PER_SECOND), and the figure would be that pace.
      JIRA_BURST_PER_SECOND: '10000',
      // BENCH_PROXY_REDIS_URL: the governor (and the proxy's per-user limit) keep their state in that Redis, as in production with REDIS_URL.
      ...(process.env.BENCH_PROXY_REDIS_URL ? { REDIS_URL: process.env.BENCH_PROXY_REDIS_URL } : {}),
    });
    const spa = { authorization: `Bearer ${token}`, 'x-team-id': seeded.teamId };
    const direct = { url: `${fake.url}/ex/jira/${seeded.cloudId}/rest/api/3/myself`, headers: { authorization: `Bearer ${seeded.accessToken}`, accept: 'application/json' } };
    const proxied = { url: `${app.url}/api/integrations/jira/proxy/rest/api/3/myself`, headers: { ...spa, accept: 'application/json' } };
    // Warm both paths (JIT, connection pools, the token cache) before measuring.
    await sequential(agent, direct.url, direct.headers, Math.min(300, PROXY.requestsPerRound));
    await sequential(agent, proxied.url, proxied.headers, Math.min(300, PROXY.requestsPerRound));
    const floorUrl = `${app.url}/bench/floor`;
    await sequential(agent, floorUrl, spa, Math.min(300, PROXY.requestsPerRound));
    const d: number[] = [];
    const p: number[] = [];
    const f: number[] = [];
    const cpu = { floor: 0, proxied: 0 };
    const pid = app.child.pid!;
    for (let round = 0; round < PROXY.rounds; round++) {
      d.push(...(await sequential(agent, direct.url, direct.headers, PROXY.requestsPerRound)));
      let before = cpuMs(pid);
      p.push(...(await sequential(agent, proxied.url, proxied.headers, PROXY.requestsPerRound)));
      cpu.proxied += cpuMs(pid) - before;
      before = cpuMs(pid);
      f.push(...(await sequential(agent, floorUrl, spa, PROXY.requestsPerRound)));
      cpu.floor += cpuMs(pid) - before;
    }
    const load = await hammer([
      { route: 'floor (auth + team guard + 1 SELECT)', url: `${app.url}/bench/floor`, headers: spa },
      { route: 'proxied GET /rest/api/3/myself', url: proxied.url, headers: proxied.headers },
      { route: 'direct GET (fake Atlassian, no proxy)', url: direct.url, headers: direct.headers },
    ]);
    const fig = (xs: number[]) => ({ p50Ms: percentile(xs, 0.5), p99Ms: percentile(xs, 0.99) });
    const [dd, pp] = [fig(d), fig(p)];
    const perRequest = (ms: number) => ms / (PROXY.rounds * PROXY.requestsPerRound);
    return {
      direct: dd,
      proxied: pp,
      floor: fig(f),
      appCpuMsPerRequest: { floor: perRequest(cpu.floor), proxied: perRequest(cpu.proxied) },
      addedP50Ms: pp.p50Ms - dd.p50Ms,
      addedP99Ms: pp.p99Ms - dd.p99Ms,
      load,
      throughputRatio: load[1].rps / load[0].rps,
      fakeRequests: fake.requestLog.length,
    };
  } finally {
    agent.destroy();
    await app?.stop();
    await fake.stop();
    await dropBenchDatabase(dbName);
  }
}
