import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { entryPointArgs } from './helpers/entry-point.js';

/*
 * The real entry point in a child process with a clean environment, as an operator starts it:
 * what does it print, and does it stop? From dist/ when it is fresh (CI builds it), else from the
 * sources; the first test always runs the sources, so the source-run path stays tested.
 */
const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'jc-startup-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

interface Exit {
  code: number | null;
  stderr: string;
  stdout: string;
}

/** Starts the server; resolves when it exits (or kills it after `timeoutMs` and says so). */
function start(env: Record<string, string>, { fromSources = false, timeoutMs = 100_000 } = {}): Promise<Exit> {
  const cwd = tempDir(); // no .env here, and the default DATA_DIR (./.data) lands in it
  const child = spawn(process.execPath, entryPointArgs('main', { fromSources }), {
    cwd,
    env: { PATH: process.env.PATH, HOME: cwd, LOG_LEVEL: 'warn', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, stdout });
    });
  });
}

/** Lines that look like a stack trace. */
const stackLines = (text: string) => text.split('\n').filter((l) => /^\s+at\s/.test(l));
/** stderr without Node's own warnings (dev secrets generated, experimental loader notes). */
const ours = (text: string) => text.split('\n').filter((l) => l.trim() && !/^\(node:\d+\)|--trace-warnings/.test(l));

describe('start-up errors', () => {
  it('reports every invalid variable of every namespace at once, one line each, no stack, exit 1; warns about a misspelt one', async () => {
    const r = await start({
      PORT: 'eighty', // app
      TRUST_PROXY: 'sometimes', // app
      AUTH_JWT_MAX_AGE_SECONDS: '5', // auth
      DATABASE_URL: 'mysql://db', // database
      ENCRYPTION_KEY: 'short', // encryption
      JIRA_REDIRECT_URI: 'https://api.example.com/callback', // jira: not the callback route
      JIRA_KEEPALIVE_DAYS: '900', // jira
      JIRA_RATE_LIMIT_PER_USER: '0', // rate limit
      REDIS_URL: 'http://cache', // redis
      JIRA_CLIENTID: 'misspelt-value-0123', // not a variable: a warning, with the likely one
    }, { fromSources: true });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/JIRA_CLIENTID is not a variable jira-connect reads \(ignored\): did you mean JIRA_CLIENT_ID\?/);
    expect(r.stderr + r.stdout).not.toContain('misspelt-value-0123');
    expect(stackLines(r.stderr + r.stdout)).toEqual([]);
    const lines = ours(r.stderr);
    for (const variable of ['PORT', 'TRUST_PROXY', 'AUTH_JWT_MAX_AGE_SECONDS', 'DATABASE_URL', 'ENCRYPTION_KEY',
      'JIRA_REDIRECT_URI', 'JIRA_KEEPALIVE_DAYS', 'JIRA_RATE_LIMIT_PER_USER', 'REDIS_URL']) {
      const naming = lines.filter((l) => new RegExp(`^\\s*- ${variable}\\b`).test(l));
      expect(naming, `${variable} in:\n${r.stderr}`).toHaveLength(1);
    }
    expect(lines.filter((l) => /^\s*- /.test(l))).toHaveLength(9);
    expect(r.stderr).toMatch(/\/api\/integrations\/jira\/oauth\/callback/);
  }, 120_000);

  it('refuses production on the embedded database unless ALLOW_EMBEDDED_DATABASE=true', async () => {
    const prod = { NODE_ENV: 'production', ENCRYPTION_KEY: 'A'.repeat(43) + '=', AUTH_JWT_SECRET: 'p'.repeat(40) };
    const r = await start(prod);
    expect(r.code).toBe(1);
    expect(ours(r.stderr).filter((l) => /^\s*- /.test(l))).toEqual([expect.stringMatching(/^\s*- DATABASE_URL is required in production.*ALLOW_EMBEDDED_DATABASE=true/)]);
    expect(stackLines(r.stderr)).toEqual([]);
  }, 120_000);

  it('names PORT when the port is in use, before opening the database', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, r));
    const port = (blocker.address() as { port: number }).port;
    const dataDir = join(tempDir(), 'data');
    try {
      const r = await start({ PORT: String(port), DATA_DIR: dataDir });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`PORT ${port} is already in use`));
      expect(stackLines(r.stderr + r.stdout)).toEqual([]);
      expect(existsSync(join(dataDir, 'pglite')), 'the embedded database was opened first').toBe(false);
    } finally {
      blocker.close();
    }
  }, 120_000);

  it('prints the data-directory lock message once, and stops without retrying', async () => {
    const dataDir = tempDir();
    // This test process plays the server that already has the embedded database open.
    writeFileSync(join(dataDir, 'pglite.lock'), String(process.pid));
    const r = await start({ DATA_DIR: dataDir });
    expect(r.code).toBe(1);
    const mentions = (r.stderr + r.stdout).match(/is in use by another process/g) ?? [];
    expect(mentions, r.stderr).toHaveLength(1);
    expect(r.stderr).toMatch(new RegExp(`pid ${process.pid}`));
    expect(stackLines(r.stderr + r.stdout)).toEqual([]);
  }, 120_000);
});

describe('database connection retries', () => {
  it('retries a connection that may come up (PostgreSQL starting), never a data directory held by another process', async () => {
    const { isWorthRetrying } = await import('../src/database/database.module.js');
    const { EmbeddedDatabaseLockedError } = await import('../src/database/data-source.js');
    expect(isWorthRetrying(new Error('connect ECONNREFUSED 127.0.0.1:5432'))).toBe(true);
    expect(isWorthRetrying(new EmbeddedDatabaseLockedError('/tmp/x', 1))).toBe(false);
  });
});
