import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, signal, waitUntil } from '../helpers/free-port.js';
import { answersSelectOne, postgresIds } from '../helpers/private-postgres.js';

/*
 * A PgBouncer of the test's own (Debian's package), in pool_mode = transaction with otherwise
 * default settings (no ignore_startup_parameters), on a free port in front of a PostgreSQL the test
 * names. Authentication is PgBouncer's default (md5, the password in its auth_file). PgBouncer
 * refuses to run as root, so as root it runs as the `postgres` system user (runuser).
 */

const BINARIES = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer'];
/** PGBOUNCER_BIN when set (only that), else Debian's. */
const pgbouncerBinary = (): string | null =>
  (process.env.PGBOUNCER_BIN ? [process.env.PGBOUNCER_BIN] : BINARIES).find((b) => existsSync(b)) ?? null;

/** Why the pooler tier cannot run here, or null when it can. */
export function pgbouncerUnavailableReason(): string | null {
  if (pgbouncerBinary()) return null;
  return 'pgbouncer not found (apt-get install -y pgbouncer, or PGBOUNCER_BIN; scripts/ci-pooler.sh installs it)';
}

const asRoot = (): boolean => process.getuid?.() === 0;

export class PgBouncer {
  private readonly onExit = () => this.killNow();

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly child: ChildProcess,
    private readonly user: string,
    private readonly password: string,
  ) {}

  /** URL of `database` through the pooler (PgBouncer's `*` entry forwards any database name). */
  url(database: string): string {
    return `postgres://${this.user}:${encodeURIComponent(this.password)}@127.0.0.1:${this.port}/${database}`;
  }

  /** Starts PgBouncer in front of PostgreSQL at 127.0.0.1:`serverPort`, for `user` with `password`. */
  static async start(serverPort: number, user: string, password: string): Promise<PgBouncer> {
    const binary = pgbouncerBinary();
    if (!binary) throw new Error(pgbouncerUnavailableReason()!);
    const dir = mkdtempSync(join(tmpdir(), 'jc-pgbouncer-'));
    const port = await freePort();
    const ini = join(dir, 'pgbouncer.ini');
    writeFileSync(join(dir, 'userlist.txt'), `"${user}" "${password}"\n`, { mode: 0o600 });
    writeFileSync(ini, [
      '[databases]',
      `* = host=127.0.0.1 port=${serverPort}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      `unix_socket_dir = ${dir}`,
      `auth_file = ${join(dir, 'userlist.txt')}`,
      `logfile = ${join(dir, 'pgbouncer.log')}`,
      `pidfile = ${join(dir, 'pgbouncer.pid')}`,
      'pool_mode = transaction',
      '',
    ].join('\n'));
    if (asRoot()) {
      const { uid, gid } = postgresIds();
      for (const f of [dir, ini, join(dir, 'userlist.txt')]) chownSync(f, uid, gid);
    }
    const [cmd, argv] = asRoot() ? ['runuser', ['-u', 'postgres', '--', binary, ini]] : [binary, [ini]];
    const child = spawn(cmd, argv, { stdio: 'ignore' });
    const bouncer = new PgBouncer(port, dir, child, user, password);
    process.once('exit', bouncer.onExit);
    try {
      await waitUntil(() => bouncer.answers(), 20_000, `pgbouncer on port ${port}`);
    } catch (err) {
      const log = bouncer.logTail();
      await bouncer.stop();
      throw new Error(`${(err as Error).message}\n${log}`);
    }
    return bouncer;
  }

  /** true when `SELECT 1` through the pooler answers. */
  answers(): Promise<boolean> {
    return answersSelectOne(this.url('postgres'));
  }

  logTail(lines = 20): string {
    try {
      return readFileSync(join(this.dir, 'pgbouncer.log'), 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no pgbouncer log)';
    }
  }

  private pid(): number | null {
    try {
      const pid = Number(readFileSync(join(this.dir, 'pgbouncer.pid'), 'utf8').trim());
      return Number.isInteger(pid) && pid > 0 ? pid : null;
    } catch {
      return null;
    }
  }

  /** SIGINT (PgBouncer's "shut down now"), then removes its directory. Always safe to call. */
  async stop(): Promise<void> {
    const pid = this.pid();
    if (pid) signal(pid, 'SIGINT');
    if (this.child.exitCode === null && this.child.signalCode === null) {
      await Promise.race([
        new Promise((r) => this.child.once('exit', r)),
        new Promise((r) => setTimeout(r, 5000)),
      ]);
    }
    this.killNow();
    process.removeListener('exit', this.onExit);
  }

  /** Last resort (synchronous). */
  private killNow(): void {
    const pid = this.pid();
    if (pid) signal(pid, 'SIGKILL');
    if (this.child.pid && this.child.exitCode === null) signal(this.child.pid, 'SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
