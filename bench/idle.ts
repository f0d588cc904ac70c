import { createServer, type Server } from 'node:http';
import { JiraIntegration } from '../src/integrations/jira/entities/jira-integration.entity.js';
import { FakeAtlassian } from '../src/integrations/jira/testing/fake-atlassian/fake-atlassian.js';
import { createBenchDatabase, dropBenchDatabase, openDatabase, sleep, startApp } from './support.js';

/**
 * Idle statements (issue 18, item 7): an instance with every background feature configured
 * (connection notifications, managed Jira webhooks with a configured subscription, refresh
 * recovery, webhook renewal, keep-alive and the hourly jobs) and nothing happening: how many SQL
 * statements a minute it sends, at two numbers of connected teams. Counted inside the app process
 * (bench/bench.module.ts wraps its DataSource's query runners, transaction control included) over
 * a window that starts after a settling pause (start-up work left out).
 */
export const IDLE = {
  teams: (process.env.BENCH_IDLE_TEAMS ?? '10,1000').split(',').map(Number),
  windowMs: Number(process.env.BENCH_IDLE_WINDOW_S ?? 60) * 1000,
  settleMs: Number(process.env.BENCH_IDLE_SETTLE_MS ?? 3000),
};

export interface IdleRun {
  teams: number;
  windowMs: number;
  statements: number;
  perMinute: number;
  byKind: Record<string, number>;
}

/** The app's environment with every background feature on: Atlassian (the fake), notifications to `notifyUrl`, managed webhooks. */
export const everyFeature = (fake: FakeAtlassian, notifyUrl: string): Record<string, string> => ({
  ...fake.env(),
  NOTIFY_WEBHOOK_URL: notifyUrl, NOTIFY_WEBHOOK_SECRET: 'bench-notification-secret-0123456789abcdef',
  JIRA_WEBHOOK_URL: 'https://hooks.bench.test/api/integrations/jira/webhooks', JIRA_WEBHOOK_EVENTS: 'jira:issue_updated',
  JIRA_WEBHOOK_JQL: 'project = BENCH',
});

/** A receiver for the connection notifications that answers 204 to anything (nothing is sent while idle). */
async function sink(): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(204).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/notifications`, server };
}

async function idleRun(entry: string, teams: number): Promise<IdleRun> {
  const dbName = `jc_bench_idle_${teams}_${process.pid}`;
  const url = await createBenchDatabase(dbName);
  const fake = await new FakeAtlassian({ expiresInSeconds: 3600 }).start();
  const receiver = await sink();
  try {
    const ds = await openDatabase({ DATABASE_URL: url });
    const site = fake.account.sites[0];
    const now = new Date();
    const valid = new Date(Date.now() + 3_600_000);
    for (let i = 0; i < teams; i += 500) {
      const n = Math.min(500, teams - i);
      await ds.getRepository(JiraIntegration).insert(Array.from({ length: n }, (_, j) => ({
        teamId: `idle-${i + j}`, status: 'connected' as const, cloudId: site.id, siteUrl: site.url, siteName: site.name,
        scopes: ['read:jira-user', 'read:jira-work', 'manage:jira-webhook', 'offline_access'],
        accessToken: `at-idle-${i + j}`, refreshToken: `rt-idle-${i + j}`, accessTokenExpiresAt: valid, connectedAt: now,
      })));
    }
    await ds.destroy();
    const app = await startApp(entry, { DATABASE_URL: url, ...everyFeature(fake, receiver.url) });
    try {
      await sleep(IDLE.settleMs);
      const read = async (reset: boolean) => {
        const res = await fetch(`${app.url}/bench/statements${reset ? '?reset=1' : ''}`);
        if (res.status !== 200) throw new Error(`/bench/statements answered ${res.status}`);
        return ((await res.json()) as { data: { total: number; byKind: Record<string, number> } }).data;
      };
      await read(true);
      const started = performance.now();
      await sleep(IDLE.windowMs);
      const counted = await read(false);
      const windowMs = performance.now() - started;
      return { teams, windowMs, statements: counted.total, perMinute: (counted.total * 60_000) / windowMs, byKind: counted.byKind };
    } finally {
      await app.stop();
    }
  } finally {
    receiver.server.close();
    await fake.stop();
    await dropBenchDatabase(dbName);
  }
}

/** One run per size in IDLE.teams, one after the other. */
export async function idleStatements(entry: string): Promise<IdleRun[]> {
  const runs: IdleRun[] = [];
  for (const teams of IDLE.teams) runs.push(await idleRun(entry, teams));
  return runs;
}
