import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort, signal, waitUntil } from './free-port.js';
import { testRunDir } from './test-run-dir.js';

/*
 * A PostgreSQL cluster of the test's own (initdb + pg_ctl under a temp dir, on a free port), which
 * the test may freeze (SIGSTOP on the postmaster and every backend), thaw, stop hard and start
 * again. Never the machine's shared server. initdb refuses to run as root, so as root the
 * cluster runs as the `postgres` system user (runuser), owning its directory.
 */

const run = promisify(execFile);

/** The directory holding initdb and pg_ctl (PG_BIN, else the newest /usr/lib/postgresql/N/bin), or null. */
export function postgresBinDir(): string | null {
  const candidates = process.env.PG_BIN ? [process.env.PG_BIN] : [];
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => join(root, v, 'bin')));
  }
  return candidates.find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))) ?? null;
}

const asRoot = (): boolean => process.getuid?.() === 0;

/** Numeric uid/gid of the postgres system user (for chown), read from /etc/passwd. */
export function postgresIds(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('running as root, but there is no `postgres` user to run the private cluster as');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** Runs initdb, pg_ctl... (as the postgres user when we are root). */
async function runPgTool(bin: string, tool: string, args: string[], cwd: string): Promise<void> {
  const file = join(bin, tool);
  const [cmd, argv] = asRoot() ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args];
  await run(cmd, argv, { timeout: 120_000, cwd });
}

/** Children of `pid`, from /proc (Linux). */
function childrenOf(pid: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid ...; comm may contain spaces, so parse after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) found.push(Number(entry));
    } catch {
      /* exited meanwhile */
    }
  }
  return found;
}

/** true when the PostgreSQL (or pooler) at `url` answers SELECT 1 within `timeoutMs`. */
export async function answersSelectOne(url: string, timeoutMs = 1000): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    client.end().catch(() => undefined);
  }
}

export class PrivatePostgres {
  private frozenPids: number[] = [];
  private readonly onExit = () => this.killNow();

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly bin: string,
  ) {}

  private get dataDir(): string {
    return join(this.dir, 'data');
  }

  /** Superuser URL of the cluster's `postgres` database (trust authentication). */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  static async start(): Promise<PrivatePostgres> {
    const bin = postgresBinDir();
    if (!bin) throw new Error('initdb not found (install PostgreSQL server binaries or set PG_BIN)');
    const dir = mkdtempSync(join(tmpdir(), 'jc-pg-'));
    const cluster = new PrivatePostgres(await freePort(), dir, bin);
    process.once('exit', cluster.onExit);
    try {
      if (asRoot()) {
        const { uid, gid } = postgresIds();
        chownSync(dir, uid, gid);
      }
      // A copy of one initdb per test run: initdb costs seconds of CPU, a copy milliseconds.
      await run('cp', ['-a', await initdbOncePerRun(bin), cluster.dataDir]);
      await cluster.resume();
    } catch (err) {
      await cluster.cleanup();
      throw err;
    }
    return cluster;
  }

  private pg(tool: string, args: string[]): Promise<void> {
    return runPgTool(this.bin, tool, args, this.dir);
  }

  /**
   * Starts the cluster (again) on its port; only TCP on 127.0.0.1, its socket in the temp dir.
   * fsync=off is safe for these faults: stopping kills processes, not the OS, so commits survive.
   */
  async resume(): Promise<void> {
    const options = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=40`;
    await this.pg('pg_ctl', ['-D', this.dataDir, '-l', join(this.dir, 'server.log'), '-o', options, '-w', '-t', '90', 'start']);
    await waitUntil(() => this.answers(), 30_000, `private PostgreSQL on port ${this.port}`);
  }

  /** true when the cluster answers SELECT 1 within `timeoutMs`. */
  answers(timeoutMs = 1000): Promise<boolean> {
    return answersSelectOne(this.url, timeoutMs);
  }

  private postmasterPid(): number | null {
    try {
      const pid = Number(readFileSync(join(this.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      return Number.isInteger(pid) && pid > 0 ? pid : null;
    } catch {
      return null;
    }
  }

  /** SIGSTOP on the postmaster, then on every backend: connections stay open, nothing answers. */
  freeze(): void {
    const postmaster = this.postmasterPid();
    if (!postmaster) throw new Error('private PostgreSQL is not running');
    signal(postmaster, 'SIGSTOP'); // first, so it forks nothing new meanwhile
    this.frozenPids = [postmaster, ...childrenOf(postmaster)];
    for (const pid of this.frozenPids.slice(1)) signal(pid, 'SIGSTOP');
  }

  thaw(): void {
    for (const pid of this.frozenPids.slice().reverse()) signal(pid, 'SIGCONT');
    this.frozenPids = [];
  }

  /** `pg_ctl stop -m immediate`: every connection dropped, new ones refused until resume(). */
  async stop(): Promise<void> {
    this.thaw();
    if (this.postmasterPid()) await this.pg('pg_ctl', ['-D', this.dataDir, '-m', 'immediate', '-w', '-t', '60', 'stop']);
  }

  /** The end of the server log, for failure messages. */
  logTail(lines = 15): string {
    try {
      return readFileSync(join(this.dir, 'server.log'), 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no server log)';
    }
  }

  /** Always safe to call, also after a failure: thaws, stops, removes the temp dir. */
  async cleanup(): Promise<void> {
    try {
      await this.stop();
    } catch {
      this.killNow();
    }
    rmSync(this.dir, { recursive: true, force: true });
    process.removeListener('exit', this.onExit);
  }

  /** Last resort (synchronous): when the test process exits without cleanup. */
  private killNow(): void {
    this.thaw();
    const postmaster = this.postmasterPid();
    if (postmaster) {
      for (const pid of childrenOf(postmaster)) signal(pid, 'SIGKILL');
      signal(postmaster, 'SIGKILL');
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A data directory made by initdb once per test run (shared by every file and worker through the
 * run's directory, see test-run-dir.ts): the first caller makes it under a lock, the others wait.
 */
async function initdbOncePerRun(bin: string): Promise<string> {
  const root = join(testRunDir(), 'postgres-template');
  const data = join(root, 'data');
  const lock = join(root, 'lock');
  mkdirSync(root, { recursive: true });
  if (asRoot()) {
    const { uid, gid } = postgresIds();
    chownSync(root, uid, gid);
  }
  if (existsSync(data)) return data;
  try {
    mkdirSync(lock);
  } catch {
    await waitUntil(async () => existsSync(data), 120_000, 'the shared initdb of another test file');
    return data;
  }
  const building = join(root, 'building');
  try {
    rmSync(building, { recursive: true, force: true });
    await runPgTool(bin, 'initdb', ['-D', building, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync'], root);
    renameSync(building, data); // atomic: waiters never see a half-made directory
    return data;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Why the private-cluster tests cannot run here, or null when they can. */
export function privatePostgresUnavailableReason(): string | null {
  if (!postgresBinDir()) return 'initdb not found under /usr/lib/postgresql/*/bin (or PG_BIN)';
  if (asRoot() && !readFileSync('/etc/passwd', 'utf8').split('\n').some((l) => l.startsWith('postgres:'))) {
    return `running as ${userInfo().username} without a postgres user to run initdb as`;
  }
  return null;
}
