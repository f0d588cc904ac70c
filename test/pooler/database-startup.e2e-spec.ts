import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/*
 * The real entry point against a "database" that accepts TCP connections and never answers (a
 * black-holed host, a frozen pooler): the operator is told which database within the connect
 * timeout, not after TypeORM's ten retries.
 */
const REGISTER = fileURLToPath(new URL('../../scripts/swc-register.mjs', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const CONNECT_TIMEOUT_MS = 1000;
/** Node and SWC start-up before the first attempt, on a shared CPU. */
const STARTUP_SLACK_MS = 15_000;

describe('a database that does not answer', () => {
  let silent: Server;
  const sockets: Socket[] = [];
  let port = 0;
  const dir = mkdtempSync(join(tmpdir(), 'jc-dbstart-'));

  beforeAll(async () => {
    silent = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    port = (silent.address() as { port: number }).port;
  });
  afterAll(async () => {
    sockets.forEach((s) => s.destroy());
    await new Promise((r) => silent.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('is named, with what to check, within the connect timeout of the first attempt', async () => {
    const child = spawn(process.execPath, ['--import', REGISTER, MAIN], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: dir, LOG_LEVEL: 'warn', PORT: '0',
        DATABASE_URL: `postgres://app:s3cret-pw@127.0.0.1:${port}/jc`, DATABASE_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let firstAttemptAt = 0;
    try {
      const named = await new Promise<{ line: string; at: number }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`not named in time; stderr so far:\n${stderr}`)), STARTUP_SLACK_MS + CONNECT_TIMEOUT_MS);
        // The first attempt starts when the silent server sees the connection.
        silent.once('connection', () => (firstAttemptAt = Date.now()));
        child.stderr.on('data', (c: Buffer) => {
          stderr += c.toString('utf8');
          const line = stderr.split('\n').find((l) => l.includes('JIRA_CONNECT_DATABASE_UNREACHABLE'));
          if (line) {
            clearTimeout(timer);
            resolve({ line, at: Date.now() });
          }
        });
      });
      expect(named.line).toMatch(new RegExp(`Database app@127\\.0\\.0\\.1:${port}/jc did not answer within ${CONNECT_TIMEOUT_MS} ms`));
      expect(named.line).toMatch(/Check the host and port in DATABASE_URL/);
      expect(named.line).not.toContain('s3cret-pw');
      expect(firstAttemptAt).toBeGreaterThan(0);
      // The connect timeout, plus scheduling slack on a shared CPU; TypeORM's first retry log came after 3 s more.
      expect(named.at - firstAttemptAt).toBeLessThan(CONNECT_TIMEOUT_MS + 1500);
    } finally {
      child.kill('SIGKILL');
    }
  }, 60_000);
});
