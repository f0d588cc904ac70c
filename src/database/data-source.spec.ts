import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDataSource, EmbeddedDatabaseLockedError } from './data-source.js';

describe('embedded database (PGlite) on disk', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jc-pglite-'));
  const lock = join(dir, 'pglite.lock');
  const settings = { kind: 'pglite' as const, dataDir: dir };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('persists across restarts, holds a lock while open and releases it on close', async () => {
    const first = createDataSource(settings);
    await first.initialize();
    await first.runMigrations();
    await first.query(`INSERT INTO teams (name) VALUES ('persisted')`);
    expect(readFileSync(lock, 'utf8')).toBe(String(process.pid));
    // A second data source in the same process shares the engine (and its session lock).
    const sibling = createDataSource(settings);
    await sibling.initialize();
    expect((await sibling.query(`SELECT count(*)::int AS n FROM teams WHERE name = 'persisted'`))[0].n).toBe(1);
    await sibling.destroy();
    await first.destroy();
    expect(existsSync(lock)).toBe(false);

    const reopened = createDataSource(settings);
    await reopened.initialize();
    expect((await reopened.query(`SELECT count(*)::int AS n FROM teams WHERE name = 'persisted'`))[0].n).toBe(1);
    await reopened.destroy();
  }, 60_000);

  it('refuses a directory another live process has open, with a message saying what to do', async () => {
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    try {
      writeFileSync(lock, String(other.pid));
      expect(() => createDataSource(settings)).toThrow(EmbeddedDatabaseLockedError);
      expect(() => createDataSource(settings)).toThrow(/in use by another process .*stop that process.*DATABASE_URL/s);
    } finally {
      other.kill();
    }
  });

  it('takes over a lock left by a process that died', async () => {
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => dead.on('exit', r));
    writeFileSync(lock, String(dead.pid));
    const ds = createDataSource(settings);
    await ds.initialize();
    expect(readFileSync(lock, 'utf8')).toBe(String(process.pid));
    await ds.destroy();
  }, 60_000);
});
