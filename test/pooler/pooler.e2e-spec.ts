import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BoundedClient, boundedPoolOptions } from '../../src/database/bounded-pool.js';
import { createDataSource } from '../../src/database/data-source.js';
import { JiraTokenManager } from '../../src/integrations/jira/tokens/jira-token-manager.service.js';
import { FakeAtlassian } from '../../src/integrations/jira/testing/fake-atlassian/fake-atlassian.js';
import { seedIntegration } from '../helpers/jira-seed.js';
import { NotificationReceiver } from '../helpers/notification-receiver.js';
import { connect } from '../helpers/oauth-flow.js';
import { PrivatePostgres, privatePostgresUnavailableReason } from '../helpers/private-postgres.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';
import { migrateDatabase } from '../helpers/test-db.js';
import { waitFor, WebhookProbe, WebhookProbeModule } from '../helpers/webhook-probe.js';
import { PgBouncer, pgbouncerUnavailableReason } from './pgbouncer.js';

/*
 * The pooler tier: the app through a real PgBouncer in pool_mode = transaction with its default
 * settings (which refuse a statement_timeout startup parameter), in front of a private PostgreSQL
 * cluster (migrated directly, as in production). And the server-side statement timeout, directly
 * and through the pooler: a statement blocked by a lock is cancelled by the server.
 */

const STATEMENT_TIMEOUT_MS = 1500;
/** The client's own backstop fires one second after the server's timeout; the server must come first. */
const CLIENT_BACKSTOP_MS = STATEMENT_TIMEOUT_MS + 1000;
const PASSWORD = `pooler-${randomBytes(6).toString('hex')}`;
const HOOK_URL = 'https://hooks.example.test/api/integrations/jira/webhooks';

const pgReason = privatePostgresUnavailableReason();
const bouncerReason = pgbouncerUnavailableReason();

// scripts/ci-pooler.sh sets this: there, a missing pgbouncer or initdb fails the tier instead of skipping it.
if (process.env.POOLER_TIER_REQUIRED === '1' && (pgReason ?? bouncerReason)) {
  describe('transaction pooler tier', () => {
    it('can run here', () => {
      throw new Error(`the pooler tier cannot run: ${pgReason ?? bouncerReason}`);
    });
  });
}

/**
 * While `locker` holds a row lock, `ds` updates that row (alone, then inside a transaction): the
 * server cancels each statement (57014) within the timeout, before the client's backstop; nothing
 * of the app is left waiting in pg_stat_activity, and the write never lands once the lock goes.
 */
async function expectLockWaitCancelledOnServer(ds: DataSource, cluster: PrivatePostgres): Promise<void> {
  const admin = new pg.Client({ connectionString: cluster.url });
  const locker = new pg.Client({ connectionString: cluster.url });
  await admin.connect();
  await locker.connect();
  try {
    const marker = `jc_cancel_probe_${randomBytes(4).toString('hex')}`;
    const [{ id }] = (await admin.query(`INSERT INTO teams (name) VALUES ($1) RETURNING id`, [marker])).rows as { id: string }[];
    await locker.query('BEGIN');
    await locker.query('SELECT 1 FROM teams WHERE id = $1 FOR UPDATE', [id]);

    const attempts: [string, () => Promise<unknown>][] = [
      ['a lone statement', () => ds.query(`/* ${marker} */ UPDATE teams SET name = 'written late' WHERE id = $1`, [id])],
      ['a statement in a transaction', () => ds.transaction((m) => m.query(`/* ${marker} */ UPDATE teams SET name = 'written late' WHERE id = $1`, [id]))],
    ];
    for (const [what, attempt] of attempts) {
      const started = Date.now();
      const err = await attempt().then(() => null, (e: unknown) => e as { code?: string; message?: string });
      const ms = Date.now() - started;
      expect(err, `${what}: refused`).not.toBeNull();
      // 57014 comes from the server; the client's backstop would say "Query read timeout", with no code.
      expect(err!.code, `${what}: ${err!.message}`).toBe('57014');
      expect(ms, what).toBeGreaterThanOrEqual(STATEMENT_TIMEOUT_MS - 50);
      expect(ms, what).toBeLessThan(CLIENT_BACKSTOP_MS);
      const waiting = await admin.query(
        `SELECT pid, state, wait_event_type, query FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND query LIKE $1 AND state <> 'idle'`,
        [`%${marker}%`]);
      expect(waiting.rows, `${what}: nothing of the app still running`).toEqual([]);
    }
    await locker.query('ROLLBACK');
    const [{ name }] = (await admin.query('SELECT name FROM teams WHERE id = $1', [id])).rows as { name: string }[];
    expect(name, 'the cancelled write never lands').toBe(marker);
  } finally {
    await locker.end().catch(() => undefined);
    await admin.end().catch(() => undefined);
  }
}

describe.skipIf(pgReason !== null)(`transaction pooler tier${pgReason ? ` (skipped: ${pgReason})` : ''}`, () => {
  let cluster: PrivatePostgres;

  beforeAll(async () => {
    cluster = await PrivatePostgres.start();
    await migrateDatabase(cluster.url);
  }, 180_000);
  afterAll(async () => {
    await cluster?.cleanup();
  }, 60_000);

  it('directly: a statement blocked by a lock is cancelled by the server within the timeout', async () => {
    const ds = createDataSource({ kind: 'postgres', url: cluster.url, dataDir: 'memory://', statementTimeoutMs: STATEMENT_TIMEOUT_MS });
    await ds.initialize();
    try {
      await expectLockWaitCancelledOnServer(ds, cluster);
    } finally {
      await ds.destroy();
    }
  }, 30_000);

  it('directly: a node-postgres pool\'s own query() (callback form) runs with the timeout too', async () => {
    const pool = new pg.Pool({ connectionString: cluster.url, ...boundedPoolOptions({ statementTimeoutMs: STATEMENT_TIMEOUT_MS }) });
    try {
      expect((await pool.query('SHOW statement_timeout')).rows[0].statement_timeout).toBe(`${STATEMENT_TIMEOUT_MS}ms`);
      expect((await pool.query('SELECT $1::int AS n', [7])).rows[0].n).toBe(7);
      await expect(pool.query('SELECT pg_sleep(5)')).rejects.toMatchObject({ code: '57014' });
    } finally {
      await pool.end();
    }
  }, 30_000);

  it('directly: a lone parameterised statement, wrapped with its timeout, leaves in one socket write', async () => {
    // BEGIN/SET LOCAL, then Parse, Bind, Describe, Execute, Sync, then COMMIT: seven protocol
    // messages, counted at the socket's own write entry points (one call per syscall batch).
    const client = new BoundedClient({ connectionString: cluster.url, serverStatementTimeoutMs: STATEMENT_TIMEOUT_MS });
    await client.connect();
    try {
      const socket = (client as unknown as { connection: { stream: Record<string, (...a: unknown[]) => unknown> } }).connection.stream;
      let writes = 0;
      for (const name of ['_write', '_writev']) {
        const original = socket[name];
        socket[name] = function (this: unknown, ...a: unknown[]) {
          writes += 1;
          return original.apply(this, a);
        };
      }
      const result = (await client.query('SELECT $1::int AS n', [7])) as { rows: { n: number }[] };
      expect(result.rows[0].n).toBe(7);
      expect(writes).toBe(1);
      // And the two in one tick (two statements a caller sends together) share that write too.
      writes = 0;
      const both = (await Promise.all([client.query('SELECT 1 AS a'), client.query('SELECT $1::int AS b', [2])])) as { rows: unknown[] }[];
      expect(both.map((r) => r.rows[0])).toEqual([{ a: 1 }, { b: 2 }]);
      expect(writes).toBe(1);
    } finally {
      await client.end();
    }
  }, 30_000);

  it('directly: a database that does not exist stops start-up at once, saying what to do', async () => {
    const started = Date.now();
    const err = await createTestApp({ env: { DATABASE_URL: cluster.url.replace(/\/postgres$/, '/no_such_db'), REDIS_URL: undefined } })
      .then(async (t) => void (await t.close()), (e: unknown) => e as Error);
    expect(err?.name).toBe('DatabaseRefusedError');
    expect(err!.message).toMatch(/3D000 database "no_such_db" does not exist.*Create that database/);
    expect(Date.now() - started).toBeLessThan(10_000);
  }, 60_000);

  describe.skipIf(bouncerReason !== null)(`through PgBouncer, pool_mode = transaction, default settings${bouncerReason ? ` (skipped: ${bouncerReason})` : ''}`, () => {
    let bouncer: PgBouncer;
    let fake: FakeAtlassian;
    let receiver: NotificationReceiver;
    let a: TestApp;
    let b: TestApp;

    beforeAll(async () => {
      bouncer = await PgBouncer.start(cluster.port, 'postgres', PASSWORD);
      fake = await new FakeAtlassian().start();
      receiver = await new NotificationReceiver().start();
      const env = {
        ...fake.env(),
        DATABASE_URL: bouncer.url('postgres'),
        DATABASE_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
        DATABASE_POOL_SIZE: '5',
        REDIS_URL: undefined,
        JIRA_WEBHOOK_URL: HOOK_URL,
        JIRA_WEBHOOK_JOB_INTERVAL_SECONDS: '0',
        JIRA_WEBHOOK_POLL_MS: '50',
        NOTIFY_WEBHOOK_URL: receiver.url,
        NOTIFY_WEBHOOK_SECRET: 'whsec_test_0123456789abcdefghijklmnopqrstuvwxyz',
        NOTIFY_POLL_INTERVAL_MS: '50',
      };
      a = await createTestApp({ env, imports: [WebhookProbeModule] });
      b = await createTestApp({ env, imports: [WebhookProbeModule] });
    }, 120_000);
    afterAll(async () => {
      await a?.close();
      await b?.close();
      await receiver?.stop();
      await fake?.stop();
      await bouncer?.stop();
    }, 60_000);

    it('connects through the pooler, and every transaction carries the statement timeout', async () => {
      expect((await a.http.get('/health')).status).toBe(200);
      const [{ timeout }] = (await a.dataSource.query(`SELECT current_setting('statement_timeout') AS timeout`)) as { timeout: string }[];
      expect(timeout).toBe(`${STATEMENT_TIMEOUT_MS}ms`);
      const inTransaction = await a.dataSource.transaction((m) => m.query(`SHOW statement_timeout`)) as { statement_timeout: string }[];
      expect(inTransaction[0].statement_timeout).toBe(`${STATEMENT_TIMEOUT_MS}ms`);
      // Nothing sticks to a server connection: a plain client through the pooler sees the default.
      const plain = new pg.Client({ connectionString: bouncer.url('postgres') });
      await plain.connect();
      try {
        expect((await plain.query('SHOW statement_timeout')).rows[0].statement_timeout).toBe('0');
      } finally {
        await plain.end();
      }
    });

    it('concurrent authorizes of one team on two instances: all answered, exactly one flow left live', async () => {
      const m = await a.member('owner');
      const answers = await Promise.all(Array.from({ length: 8 }, (_, i) =>
        (i % 2 ? b : a).http.post('/api/integrations/jira/oauth/authorize').set(m.headers).send({})));
      expect(answers.map((r) => r.status)).toEqual(Array(8).fill(200));
      const [{ live }] = (await a.dataSource.query(
        'SELECT count(*)::int AS live FROM jira_oauth_states WHERE team_id = $1 AND superseded_at IS NULL', [m.teamId])) as { live: number }[];
      expect(live).toBe(1);
    });

    it('refresh single-flight across two instances: one refresh, one token for every caller', async () => {
      const seeded = await seedIntegration(a.dataSource, fake);
      const before = fake.refreshCount;
      fake.tokenLatencyMs = 200;
      try {
        const tokens = await Promise.all(Array.from({ length: 20 }, (_, i) =>
          (i % 2 ? b : a).app.get(JiraTokenManager).getAccessToken(seeded.teamId)));
        expect(fake.refreshCount - before).toBe(1);
        expect(new Set(tokens).size).toBe(1);
        expect(tokens[0]).not.toBe(seeded.accessToken);
      } finally {
        fake.tokenLatencyMs = 0;
      }
    });

    it('a statement blocked by a lock is cancelled by the server within the timeout', async () => {
      await expectLockWaitCancelledOnServer(a.dataSource, cluster);
    }, 30_000);

    it.each([
      ['a startup parameter the pooler refuses', () => `${bouncer.url('postgres')}?options=-c%20statement_timeout%3D5000`, /08P01 unsupported startup parameter.*remove the parameter from DATABASE_URL/],
      ['a wrong password', () => bouncer.url('postgres').replace(PASSWORD, 'wrong'), /password authentication failed.*Check the user and password/],
    ])('start-up refused through the pooler (%s): stops at once, saying what to do, without the password', async (_what, url, message) => {
      const started = Date.now();
      const err = await createTestApp({ env: { ...fake.env(), DATABASE_URL: url(), REDIS_URL: undefined } }).then(
        async (t) => {
          await t.close();
          return null;
        },
        (e: unknown) => e as Error);
      expect(err?.name).toBe('DatabaseRefusedError');
      expect(err!.message).toMatch(message);
      expect(err!.message).not.toContain(PASSWORD);
      // TypeORM's retries would take 10 x 3 s.
      expect(Date.now() - started).toBeLessThan(10_000);
    }, 60_000);

    it('connect notifies the product, registers webhooks, and a delivery is handled once', async () => {
      const m = await a.member('owner');
      const { res } = await connect(a, fake, m);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const cloudId = res.body.data.site.cloudId as string;
      await receiver.waitFor(() => receiver.ofTeam(m.teamId).some((r) => r.status === 200 && r.body.type === 'connected'), 'connected notification');
      const webhooksState = async () => (await a.http.get('/api/integrations/jira/oauth/status').set(m.headers)).body.data.webhooks?.state;
      await waitFor(async () => (await webhooksState()) === 'active', 'webhook registration recorded');
      const delivery = (await fake.webhooks.delivery(cloudId, 'jira:issue_created', { issueKey: 'ABC-1' }))!;
      const posted = await b.http.post('/api/integrations/jira/webhooks').set(delivery.headers).send(delivery.body);
      expect(posted.status, JSON.stringify(posted.body)).toBe(200);
      expect(posted.body.data.status).toBe('accepted');
      const handled = () => [a, b].flatMap((t) => t.app.get(WebhookProbe).handled).filter((e) => e.deliveryId === delivery.deliveryId);
      await waitFor(() => handled().length === 1, 'webhook handled');
      expect(handled()).toHaveLength(1);
    });
  });
});
