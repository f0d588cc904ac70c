import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import pg from 'pg';
import { signHs256Token } from '../src/auth/sign-token.js';
import { TokenCipher } from '../src/integrations/jira/common/crypto/token-cipher.js';
import { readAuthSettings } from '../src/config/auth.config.js';
import { createDataSource, type AppDataSource } from '../src/database/data-source.js';
import { sealTokenColumns } from '../src/integrations/jira/entities/jira-integration-tokens.subscriber.js';
import { TokenSealer } from '../src/integrations/jira/tokens/token-sealing.js';

export const PG_ADMIN_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Keys shared by this runner and the app processes it starts (never printed). */
export const secrets = {
  ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  AUTH_JWT_SECRET: randomBytes(48).toString('base64url'),
};
process.env.AUTH_JWT_SECRET = secrets.AUTH_JWT_SECRET;
process.env.ENCRYPTION_KEY = secrets.ENCRYPTION_KEY;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export function pgUrl(database: string): string {
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${database}`;
  return u.toString();
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export async function postgresReachable(): Promise<boolean> {
  try {
    await admin((c) => c.query('SELECT 1'));
    return true;
  } catch {
    return false;
  }
}

/** A fresh, migrated jc_bench_* database; returns its URL. */
export async function createBenchDatabase(name: string): Promise<string> {
  await admin(async (c) => {
    await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await c.query(`CREATE DATABASE "${name}"`);
  });
  const ds = await openDatabase({ DATABASE_URL: pgUrl(name) });
  await ds.runMigrations();
  await ds.destroy();
  return pgUrl(name);
}

export async function dropBenchDatabase(name: string): Promise<void> {
  await admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).catch(() => undefined);
}

/** The app's own DataSource (so token columns are encrypted exactly as the app does). */
export async function openDatabase(env: { DATABASE_URL?: string; DATA_DIR?: string }): Promise<AppDataSource> {
  const ds = createDataSource(env.DATABASE_URL
    ? { kind: 'postgres', url: env.DATABASE_URL, dataDir: 'memory://' }
    : { kind: 'pglite', dataDir: env.DATA_DIR ?? 'memory://' });
  await ds.initialize();
  await ds.runMigrations();
  sealTokenColumns(ds, TokenSealer.over(new TokenCipher(Buffer.from(secrets.ENCRYPTION_KEY, 'base64'))));
  return ds;
}

/** A team with an owner; returns ids and a signed bearer token. */
export async function seedTeam(ds: AppDataSource, label: string): Promise<{ teamId: string; userId: string; token: string }> {
  const [team] = await ds.query('INSERT INTO teams (name) VALUES ($1) RETURNING id', [label]);
  const [user] = await ds.query('INSERT INTO users (email) VALUES ($1) RETURNING id', [`${label}@bench.test`]);
  await ds.query(`INSERT INTO team_members (team_id, user_id, role) VALUES ($1, $2, 'owner')`, [team.id, user.id]);
  const token = await signHs256Token(readAuthSettings(), user.id, 3600);
  return { teamId: team.id, userId: user.id, token };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface AppProcess {
  child: ChildProcess;
  url: string;
  /** ms from spawn to the first 200 from /health. */
  startupMs: number;
  rssMb(): number;
  stop(): Promise<void>;
}

/** Starts `node <entry>` and waits for /health to answer 200. */
export async function startApp(entry: string, env: Record<string, string>): Promise<AppProcess> {
  const port = await freePort();
  const started = performance.now();
  // BENCH_APP_NODE_ARGS: extra node flags for the app processes (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
  const nodeArgs = (process.env.BENCH_APP_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, entry], {
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', LOG_LEVEL: 'warn', ...secrets, ...env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${entry} exited (${child.exitCode}): ${stderr.slice(-2000)}`);
    if (performance.now() - started > 60_000) {
      child.kill('SIGKILL'); // never left running behind a failed bench
      throw new Error(`${entry} did not become healthy in 60 s: ${stderr.slice(-2000)}`);
    }
    const ok = await fetch(`${url}/health`).then((r) => r.status === 200, () => false);
    if (ok) break;
    await sleep(20);
  }
  const startupMs = performance.now() - started;
  return {
    child,
    url,
    startupMs,
    rssMb: () => {
      const line = readFileSync(`/proc/${child.pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
      return Number(/(\d+)/.exec(line ?? '')?.[1] ?? NaN) / 1024;
    },
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    }),
  };
}
