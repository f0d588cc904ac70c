import autocannon, { type Options } from 'autocannon';
import { SignJWT } from 'jose';
import { JiraIntegration } from '../src/integrations/jira/entities/jira-integration.entity.js';
import { normalizeSubscription } from '../src/integrations/jira/webhooks/webhook-subscription.js';
import { CONNECTIONS, type LoadResult, warmUp } from './load.js';
import { median, openDatabase, seedTeam, sleep, startApp } from './support.js';

/*
 * Acknowledged Jira webhook deliveries per second at 50 concurrent senders, against the floor
 * route in the same app (bench/bench.module.ts), interleaved round by round. Every delivery has
 * its own X-Atlassian-Webhook-Identifier and a valid HS256 JWT; afterwards every acknowledged
 * delivery must be in the inbox and handled (dispatched) — "lost" counts the ones that are not.
 */
const ROUND_S = Number(process.env.BENCH_ROUND_S ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CLIENT_SECRET = 'bench-client-secret-not-a-real-one';
const SUBSCRIPTION = { events: ['jira:issue_updated'], jqlFilter: 'project = BENCH' };
const SITE = 'https://bench.atlassian.net';

export interface WebhookBenchResult {
  kind: string;
  floor: LoadResult;
  webhooks: LoadResult;
  ratio: number;
  acknowledged: number;
  stored: number;
  handled: number;
  lost: number;
}

/** A realistic jira:issue_updated body (about 2 kB). */
function payload(): string {
  return JSON.stringify({
    timestamp: Date.now(),
    webhookEvent: 'jira:issue_updated',
    issue_event_type_name: 'issue_generic',
    matchedWebhookIds: [10000],
    user: { self: `${SITE}/rest/api/2/user?accountId=557058:bench`, accountId: '557058:bench', displayName: 'Bench User', active: true },
    issue: {
      id: '10001', key: 'BENCH-1', self: `${SITE}/rest/api/2/issue/10001`,
      fields: { summary: 'A benchmark issue', description: 'x'.repeat(900), project: { key: 'BENCH', name: 'Bench' },
        status: { name: 'In Progress' }, issuetype: { name: 'Task' }, labels: ['bench', 'load'] },
    },
    changelog: { id: '20001', items: [{ field: 'status', fieldtype: 'jira', from: '1', fromString: 'To Do', to: '3', toString: 'In Progress' }] },
  });
}

async function round(options: Options): Promise<LoadResult> {
  const r = await autocannon({ connections: CONNECTIONS, duration: ROUND_S, ...options });
  return { route: '', rps: r.requests.average, p99Ms: r.latency.p99, p50Ms: r.latency.p50, non2xx: r.non2xx, errors: r.errors + r.timeouts };
}

export async function webhookThroughput(entry: string, kind: string, env: Record<string, string>): Promise<WebhookBenchResult> {
  const ds = await openDatabase(env);
  const team = await seedTeam(ds, `bench-hooks-${Date.now()}`);
  await ds.getRepository(JiraIntegration).insert({
    teamId: team.teamId, status: 'connected', cloudId: 'cloud-bench', siteUrl: SITE, siteName: 'bench',
    scopes: ['read:jira-work', 'manage:jira-webhook', 'offline_access'], accessToken: 'at-bench', refreshToken: 'rt-bench',
    accessTokenExpiresAt: new Date(Date.now() + 3_600_000), connectedAt: new Date(), connectedByUserId: team.userId,
  });
  const key = normalizeSubscription(SUBSCRIPTION, 'bench').key;
  await ds.query(
    `INSERT INTO jira_webhook_registrations (team_id, cloud_id, site_url, state, webhooks, webhook_ids, expires_at, next_check_at)
     VALUES ($1, 'cloud-bench', $2, 'active', $3::jsonb, '{10000}', now() + interval '30 days', now() + interval '1 day')`,
    [team.teamId, SITE, JSON.stringify([{ key, id: 10000 }])]);
  await ds.destroy();

  const app = await startApp(entry, {
    ...env,
    JIRA_CLIENT_ID: 'bench-client', JIRA_CLIENT_SECRET: CLIENT_SECRET, JIRA_REDIRECT_URI: 'http://127.0.0.1/api/integrations/jira/oauth/callback',
    JIRA_WEBHOOK_URL: 'http://127.0.0.1/api/integrations/jira/webhooks', JIRA_WEBHOOK_EVENTS: SUBSCRIPTION.events.join(','),
    JIRA_WEBHOOK_JQL: SUBSCRIPTION.jqlFilter, JIRA_WEBHOOK_JOB_INTERVAL_SECONDS: '0',
  });
  // app.stop() waits for an exit event, so it must run once only.
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= app.stop());
  try {
    const jwt = await new SignJWT({}).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuedAt().setExpirationTime('5m') // within JIRA_WEBHOOK_JWT_MAX_LIFETIME_SECONDS
      .sign(new TextEncoder().encode(CLIENT_SECRET));
    let seq = 0;
    /** Delivery ids the app answered 2xx: each must be in the inbox afterwards. */
    const acked: string[] = [];
    const hooks: Options = {
      url: `${app.url}/api/integrations/jira/webhooks`,
      requests: [{
        method: 'POST',
        body: payload(),
        headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' },
        setupRequest: (req, context) => {
          context.id = `bench-${process.pid}-${++seq}`;
          return { ...req, headers: { ...req.headers, 'x-atlassian-webhook-identifier': context.id } };
        },
        onResponse: (status, _body, context) => {
          if (status >= 200 && status < 300) acked.push(context.id);
        },
      }],
    };
    const floor: Options = { url: `${app.url}/bench/floor`, headers: { authorization: `Bearer ${team.token}`, 'x-team-id': team.teamId } };
    await warmUp(floor);
    await warmUp(hooks);
    const floors: LoadResult[] = [];
    const webhooks: LoadResult[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      floors.push(await round(floor));
      webhooks.push(await round(hooks));
    }
    // Let the dispatcher finish (its counter on /metrics), then look every acknowledged id up.
    const handled = await handledWhenSettled(app.url, acked.length);
    if (!env.DATABASE_URL) await stop(); // PGlite: one process at a time
    const check = await openDatabase(env);
    const inbox = new Set(((await check.query('SELECT delivery_id FROM jira_webhook_events')) as { delivery_id: string }[]).map((r) => r.delivery_id));
    await check.destroy();
    const stored = acked.filter((id) => inbox.has(id)).length;
    const mid = (xs: LoadResult[], route: string): LoadResult => ({
      route, rps: median(xs.map((x) => x.rps)), p99Ms: median(xs.map((x) => x.p99Ms)), p50Ms: median(xs.map((x) => x.p50Ms)),
      non2xx: xs.reduce((n, x) => n + x.non2xx, 0), errors: xs.reduce((n, x) => n + x.errors, 0),
    });
    const f = mid(floors, 'floor (auth + team guard + 1 SELECT)');
    const w = mid(webhooks, 'POST /webhooks (JWT + store + ack)');
    return { kind, floor: f, webhooks: w, ratio: w.rps / f.rps, acknowledged: acked.length, stored, handled, lost: acked.length - stored };
  } finally {
    await stop();
  }
}

/** Polls jira_webhook_events_total{outcome="handled"} until it reaches `want` or stops moving for 5 s. */
async function handledWhenSettled(url: string, want: number): Promise<number> {
  let last = -1;
  let stableSince = performance.now();
  for (const until = performance.now() + 180_000; performance.now() < until; await sleep(250)) {
    const text = await fetch(`${url}/metrics`).then((r) => r.text());
    const n = Number(/jira_webhook_events_total\{outcome="handled"\} (\d+)/.exec(text)?.[1] ?? 0);
    if (n >= want) return n;
    if (n !== last) {
      last = n;
      stableSince = performance.now();
    } else if (performance.now() - stableSince > 5000) {
      return n;
    }
  }
  return last;
}
