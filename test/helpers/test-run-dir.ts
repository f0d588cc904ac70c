import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/*
 * A scratch directory shared by every worker of one test run, for things worth making once per run
 * (the private PostgreSQL's initdb). The global setup creates it and hands it to the workers in
 * JC_TEST_RUN_DIR; a process started without it (a single file run some other way) makes its own.
 * World-readable: the private PostgreSQL runs as the postgres user when the tests run as root.
 */
const ENV = 'JC_TEST_RUN_DIR';

export function createTestRunDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'jc-test-run-'));
  chmodSync(dir, 0o755);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function testRunDir(): string {
  const existing = process.env[ENV];
  if (existing) return existing;
  const own = createTestRunDir();
  process.env[ENV] = own.dir;
  process.once('exit', own.remove);
  return own.dir;
}

/** For the global setup: one directory for the run, visible to the workers it starts. */
export function shareTestRunDir(): () => void {
  const run = createTestRunDir();
  process.env[ENV] = run.dir;
  return () => {
    delete process.env[ENV];
    run.remove();
  };
}
