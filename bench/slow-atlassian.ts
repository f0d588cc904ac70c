import autocannon from 'autocannon';
import { JiraIntegration } from '../src/integrations/jira/entities/jira-integration.entity.js';
import { FakeAtlassian } from '../src/integrations/jira/testing/fake-atlassian/fake-atlassian.js';
import { createBenchDatabase, dropBenchDatabase, openDatabase, seedTeam, sleep, startApp, type AppProcess } from './support.js';
import { warmUp } from './load.js';

const TOKEN_MS = Number(process.env.BENCH_SLOW_TOKEN_MS ?? 9_000);
export const SLOW = {
  teams: Number(process.env.BENCH_SLOW_TEAMS ?? 50),
  tokenLatencyMs: TOKEN_MS,
  /** Status load while the refreshes wait on Atlassian. */
  connections: 10,
  /** Seconds of each measurement; status then floor fit inside the 9 s the refreshes take. */
  measureS: Math.max(1, Math.floor((TOKEN_MS * 4) / 9_000)),
  floorDuringS: Math.max(1, Math.floor((TOKEN_MS * 3) / 9_000)),
};

export interface SlowAtlassianResult {
  teams: number;
  floorP99Ms: number;
  /** The floor measured while the refreshes are in flight too (same conditions as status-during). */
  floorDuringP99Ms: number;
  statusQuietP99Ms: number;
  statusDuringP99Ms: number;
  statusDuringRps: number;
  status5xx: number;
  statusErrors: number;
  healthChecks: number;
  healthNon200: number;
  refreshCalls: number;
  refreshOk: number;
  refreshErrors: Record<string, number>;
  refreshRequests: number;
  successfulRefreshes: number;
  lostRefreshTokens: number;
}

const measure = (url: string, headers: Record<string, string>, seconds: number) =>
  autocannon({ url, connections: SLOW.connections, duration: seconds, headers });

/**
 * "Slow Atlassian": 50 connected teams whose tokens expired refresh against a token endpoint
 * answering in 9 s, on one app process with the default PostgreSQL pool, while another team's
 * status is measured (p99 against the floor's, measured without refreshes) and /health is polled.
 */
export async function slowAtlassian(entry: string): Promise<SlowAtlassianResult> {
  const dbName = `jc_bench_slow_${process.pid}`;
  const url = await createBenchDatabase(dbName);
  const fake = await new FakeAtlassian().start();
  let app: AppProcess | undefined;
  try {
    const ds = await openDatabase({ DATABASE_URL: url });
    const site = fake.account.sites[0];
    const expired = new Date(Date.now() - 60_000);
    const teams: { id: string }[] = await ds.query(
      `INSERT INTO teams (name) SELECT 'slow-' || n FROM generate_series(1, $1::int) AS n RETURNING id`, [SLOW.teams]);
    const row = (teamId: string, accessToken: string, refreshToken: string, expiresAt: Date) => ({
      teamId, status: 'connected' as const, cloudId: site.id, siteUrl: site.url, siteName: site.name,
      scopes: ['read:jira-user', 'read:jira-work', 'offline_access'], accessToken, refreshToken, accessTokenExpiresAt: expiresAt, connectedAt: expired,
    });
    await ds.getRepository(JiraIntegration).insert(teams.map(({ id }) => {
      const g = fake.mintGrant();
      return row(id, g.accessToken, g.refreshToken, expired);
    }));
    const viewer = await seedTeam(ds, `slow-viewer-${Date.now()}`);
    const own = fake.mintGrant();
    await ds.getRepository(JiraIntegration).insert(row(viewer.teamId, own.accessToken, own.refreshToken, new Date(Date.now() + 3_600_000)));

    app = await startApp(entry, { DATABASE_URL: url, ...fake.env(), JIRA_HTTP_TIMEOUT_MS: '20000' });
    const headers = { authorization: `Bearer ${viewer.token}`, 'x-team-id': viewer.teamId };
    const statusUrl = `${app.url}/api/integrations/jira/oauth/status`;
    await warmUp({ url: statusUrl, headers, connections: SLOW.connections });
    const floor = await measure(`${app.url}/bench/floor`, headers, SLOW.measureS);
    const quiet = await measure(statusUrl, headers, SLOW.measureS);

    const before = fake.tokenRequests.length;
    fake.tokenLatencyMs = SLOW.tokenLatencyMs;
    const storm = fetch(`${app.url}/bench/storm?callers=2`, { method: 'POST' })
      .then(async (r) => ((await r.json()) as { data: { calls: number; ok: number; errors: Record<string, number> } }).data);
    const health: number[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        health.push(await fetch(`${app!.url}/health`).then((r) => r.status, () => 0));
        await sleep(100);
      }
    })();
    await sleep(500);
    const during = await measure(statusUrl, headers, SLOW.measureS);
    const floorDuring = await measure(`${app.url}/bench/floor`, headers, SLOW.floorDuringS);
    const refreshed = await storm;
    polling = false;
    await poller;

    const requests = fake.tokenRequests.slice(before).filter((r) => r.grant === 'refresh_token');
    const rows = await ds.getRepository(JiraIntegration).find();
    const lost = rows.filter((r) => !r.refreshToken || r.status !== 'connected'
      || fake.isGrantRevoked(r.refreshToken) || fake.currentRefreshTokenOf(r.refreshToken) !== r.refreshToken).length;
    await ds.destroy();
    return {
      teams: SLOW.teams,
      floorP99Ms: floor.latency.p99,
      floorDuringP99Ms: floorDuring.latency.p99,
      statusQuietP99Ms: quiet.latency.p99,
      statusDuringP99Ms: during.latency.p99,
      statusDuringRps: during.requests.average,
      status5xx: (during as unknown as Record<string, number | undefined>)['5xx'] ?? 0,
      statusErrors: during.errors + during.timeouts + during.non2xx,
      healthChecks: health.length,
      healthNon200: health.filter((s) => s !== 200).length,
      refreshCalls: refreshed.calls,
      refreshOk: refreshed.ok,
      refreshErrors: refreshed.errors,
      refreshRequests: requests.length,
      successfulRefreshes: requests.filter((r) => r.status === 200).length,
      lostRefreshTokens: lost,
    };
  } finally {
    await app?.stop();
    await fake.stop();
    await dropBenchDatabase(dbName);
  }
}
