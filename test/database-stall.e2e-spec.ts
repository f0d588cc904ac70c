import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDataSource } from '../src/database/data-source.js';
import { FakeAtlassian } from '../src/integrations/jira/testing/fake-atlassian/fake-atlassian.js';
import { waitUntil } from './helpers/free-port.js';
import { PrivatePostgres, privatePostgresUnavailableReason } from './helpers/private-postgres.js';
import { createTestApp, type TestApp, type TestMember } from './helpers/test-app.js';
import { timed, type TimedResponse } from './helpers/timed-request.js';

const CONNECT_TIMEOUT_MS = 1000;
const STATEMENT_TIMEOUT_MS = 1500;
/** Worst case by design: acquire, then a statement given up client-side one second after the server's own timeout. */
const BOUND_MS = CONNECT_TIMEOUT_MS + STATEMENT_TIMEOUT_MS + 1000;
/** The CPU is shared by many test processes: allow scheduling slack on top of the bound. */
const SLACK_MS = 2500;

const STATUS = '/api/integrations/jira/oauth/status';
const AUTHORIZE = '/api/integrations/jira/oauth/authorize';
const DISCONNECT = '/api/integrations/jira/oauth/disconnect';

function expectDatabaseUnavailable({ res, ms }: TimedResponse, what: string): void {
  expect(res, `${what}: answered, not hung`).not.toBeNull();
  expect(res!.status, `${what}: ${res!.text}`).toBe(503);
  expect(res!.headers['content-type'], what).toMatch(/^application\/problem\+json/);
  expect(res!.body.code, what).toBe('database_unavailable');
  expect(Number(res!.headers['retry-after']), what).toBeGreaterThan(0);
  expect(ms, `${what}: within the configured bound`).toBeLessThan(BOUND_MS + SLACK_MS);
}

const reason = privatePostgresUnavailableReason();
const PG_PASSWORD = `pg-secret-${randomBytes(8).toString('hex')}`;

/*
 * A private PostgreSQL cluster (never the machine's shared server), migrated, then frozen with
 * SIGSTOP and later stopped hard. Runs in both suite modes: it brings its own database.
 */
describe.skipIf(reason !== null)(`database frozen or stopped (private PostgreSQL cluster)${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let cluster: PrivatePostgres;
  let fake: FakeAtlassian;
  let t: TestApp;
  let m: TestMember;

  beforeAll(async () => {
    cluster = await PrivatePostgres.start();
    const migrator = createDataSource({ kind: 'postgres', url: cluster.url, dataDir: 'memory://' });
    await migrator.initialize();
    await migrator.runMigrations();
    await migrator.destroy();
    fake = await new FakeAtlassian().start();
    t = await createTestApp({
      env: {
        ...fake.env(),
        // Trust authentication ignores the password; it is there for the leak check.
        DATABASE_URL: cluster.url.replace('postgres@', `postgres:${PG_PASSWORD}@`),
        DATABASE_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
        DATABASE_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
        REDIS_URL: undefined,
      },
    });
    m = await t.member('owner');
  }, 180_000);
  afterAll(async () => {
    cluster?.thaw();
    await t?.close();
    await fake?.stop();
    await cluster?.cleanup();
  }, 120_000);

  const limit = BOUND_MS + SLACK_MS + 10_000;
  const everyRoute = () => Promise.all([
    timed(t.http.get(STATUS).set(m.headers), limit),
    timed(t.http.get(STATUS).set(m.headers), limit),
    timed(t.http.post(AUTHORIZE).set(m.headers).send({}), limit),
    timed(t.http.delete(DISCONNECT).set(m.headers), limit),
  ]);
  const health = () => timed(t.http.get('/health'), limit);
  let lastStatus = '';
  const statusIsOk = async () => {
    const { res, ms } = await timed(t.http.get(STATUS).set(m.headers), limit);
    lastStatus = res ? `${res.status} ${res.text} after ${Math.round(ms)} ms` : `no answer after ${Math.round(ms)} ms`;
    return res?.status === 200;
  };
  const recovered = async (what: string) => {
    try {
      await waitUntil(statusIsOk, 45_000, what);
    } catch (err) {
      const appLog = t.logs.lines.filter((l) => /"level":(40|50)/.test(l)).slice(-5).join('\n');
      throw new Error(`${(err as Error).message}; last status answer: ${lastStatus}\napp warnings:\n${appLog}\nserver log:\n${cluster.logTail()}`);
    }
  };

  it('answers normally on the private cluster', async () => {
    expect((await t.http.get(STATUS).set(m.headers)).status).toBe(200);
    expect((await t.http.get('/health')).status).toBe(200);
  });

  it('frozen (SIGSTOP): 503 database_unavailable with Retry-After within the bound, /health 503; recovers after SIGCONT', async () => {
    cluster.freeze();
    let routes: TimedResponse[];
    let probe: TimedResponse;
    try {
      [routes, probe] = await Promise.all([everyRoute(), health()]);
    } finally {
      cluster.thaw();
    }
    routes.forEach((r, i) => expectDatabaseUnavailable(r, `route #${i}`));
    expect(probe.res?.status, '/health reports the database down').toBe(503);
    expect(probe.ms).toBeLessThan(BOUND_MS + SLACK_MS);

    await recovered('status 200 after SIGCONT');
    expect((await t.http.post(AUTHORIZE).set(m.headers).send({})).status).toBe(200);
    expect((await t.http.get('/health')).status).toBe(200);
  }, 90_000);

  it('a transaction cut off by a freeze is not handed to the next caller: its connection is dropped, its locks released', async () => {
    const runner = t.dataSource.createQueryRunner();
    await runner.connect();
    await runner.startTransaction();
    await runner.query('UPDATE teams SET name = name WHERE id = $1', [m.teamId]); // holds a row lock
    cluster.freeze();
    try {
      await expect(runner.query('SELECT 1')).rejects.toThrow(/Query read timeout|Connection terminated/);
      await runner.rollbackTransaction().catch(() => undefined); // never reaches the frozen server
    } finally {
      cluster.thaw();
      await runner.release();
    }
    const admin = new pg.Client({ connectionString: cluster.url, connectionTimeoutMillis: 5000, query_timeout: 5000 });
    await admin.connect();
    try {
      const openTransactions = async () => Number((await admin.query(
        `SELECT count(*) AS n FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'`)).rows[0].n);
      // Well before the pool's 10 s idle timeout, which would otherwise close the connection eventually.
      await waitUntil(async () => (await openTransactions()) === 0, 3000, 'no session left idle in a transaction')
        .catch(async (err) => {
          throw new Error(`${(err as Error).message}: ${await openTransactions()} open`);
        });
    } finally {
      await admin.end();
    }
    // The team row is writable again at once (no lock left behind), through the app's pool.
    await t.dataSource.query('UPDATE teams SET name = name WHERE id = $1', [m.teamId]);
    expect((await t.http.get(STATUS).set(m.headers)).status).toBe(200);
  }, 60_000);

  it('stopped (pg_ctl stop -m immediate): 503 database_unavailable, never 500, /health 503; recovers after restart', async () => {
    await cluster.stop();
    try {
      const [routes, probe] = await Promise.all([everyRoute(), health()]);
      routes.forEach((r, i) => expectDatabaseUnavailable(r, `route #${i}`));
      // Again, now that the pool's broken connections are gone: new connections are refused.
      (await everyRoute()).forEach((r, i) => expectDatabaseUnavailable(r, `route #${i}, second round`));
      expect(probe.res?.status, '/health reports the database down').toBe(503);
    } finally {
      await cluster.resume();
    }
    await recovered('status 200 after restart');
    expect((await t.http.get('/health')).status).toBe(200);
  }, 120_000);

  it('never logs the database password or a bearer token, through all of that', () => {
    expect(t.logs.lines.length).toBeGreaterThan(0);
    expect(t.logs.leaked([PG_PASSWORD, m.token])).toEqual([]);
  });
});

/*
 * The embedded database is one session: a query queued behind a session that is never released
 * gives up after DATABASE_CONNECT_TIMEOUT_MS with the same 503 instead of waiting forever. On an
 * embedded database of its own whatever the suite runs on, so this tier needs one run only.
 */
describe('embedded database: a request waiting for the single session', () => {
  let t: TestApp;
  beforeAll(async () => {
    const dataDir = `memory://stall-${randomBytes(4).toString('hex')}`;
    t = await createTestApp({ env: { DATABASE_URL: undefined, DATA_DIR: dataDir, DATABASE_CONNECT_TIMEOUT_MS: '500' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers 503 database_unavailable within the acquire timeout, and works once the session is free', async () => {
    const m = await t.member('member');
    const holder = t.dataSource.createQueryRunner();
    await holder.connect();
    await holder.startTransaction();
    let answer: TimedResponse;
    try {
      answer = await timed(t.http.get(STATUS).set(m.headers), 10_000);
    } finally {
      await holder.rollbackTransaction();
      await holder.release();
    }
    expect(answer.res?.status).toBe(503);
    expect(answer.res?.body.code).toBe('database_unavailable');
    expect(Number(answer.res?.headers['retry-after'])).toBeGreaterThan(0);
    expect(answer.ms).toBeLessThan(500 + SLACK_MS);
    expect((await t.http.get(STATUS).set(m.headers)).status).toBe(200);
  });
});
