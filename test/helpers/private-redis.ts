import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, signal, waitUntil } from './free-port.js';

/*
 * A redis-server of the test's own, on a free port under a temp dir, that the test may freeze
 * (SIGSTOP), thaw, kill and restart. Never the machine's shared Redis.
 */

/** The redis-server binary on PATH, or null (tests then skip, saying so). */
export function redisServerBinary(): string | null {
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8', timeout: 5000 });
  return found.status === 0 && found.stdout.trim() ? found.stdout.trim() : null;
}

/** true when something on `port` answers PING with PONG within `timeoutMs`. */
export function redisAnswers(port: number, password?: string, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => socket.write(`${password ? `AUTH ${password}\r\n` : ''}PING\r\n`));
    socket.on('data', (d) => {
      received += d.toString();
      if (received.includes('+PONG')) done(true);
      else if (received.includes('-')) done(false);
    });
    socket.once('error', () => done(false));
  });
}

export class PrivateRedis {
  private child: ChildProcess | null = null;
  private frozen = false;
  private readonly onExit = () => this.killNow();

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly binary: string,
    private readonly password?: string,
  ) {}

  get url(): string {
    return `redis://${this.password ? `:${encodeURIComponent(this.password)}@` : ''}127.0.0.1:${this.port}`;
  }

  /** `password` turns on requirepass (the URL carries it), e.g. for leak checks. */
  static async start(options: { password?: string } = {}): Promise<PrivateRedis> {
    const binary = redisServerBinary();
    if (!binary) throw new Error('redis-server not found on PATH');
    const redis = new PrivateRedis(await freePort(), mkdtempSync(join(tmpdir(), 'jc-redis-')), binary, options.password);
    process.once('exit', redis.onExit);
    try {
      await redis.resume();
    } catch (err) {
      await redis.cleanup();
      throw err;
    }
    return redis;
  }

  /** Starts (again) on the same port, with no persistence. */
  async resume(): Promise<void> {
    if (this.child) return;
    const child = spawn(this.binary, ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir,
      '--save', '', '--appendonly', 'no', '--protected-mode', 'yes', '--loglevel', 'warning',
      ...(this.password ? ['--requirepass', this.password] : [])], { stdio: 'ignore' });
    this.child = child;
    child.once('exit', () => {
      if (this.child === child) this.child = null;
    });
    await waitUntil(() => redisAnswers(this.port, this.password), 15_000, `redis-server on port ${this.port}`);
  }

  /** SIGSTOP: connections stay open, nothing is answered. */
  freeze(): void {
    if (!this.child?.pid) throw new Error('private redis is not running');
    signal(this.child.pid, 'SIGSTOP');
    this.frozen = true;
  }

  thaw(): void {
    if (this.child?.pid) signal(this.child.pid, 'SIGCONT');
    this.frozen = false;
  }

  /** Kills the server (connections refused until resume()). */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child?.pid) return;
    const exited = new Promise((r) => child.once('exit', r));
    this.thaw();
    signal(child.pid, 'SIGKILL');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    this.child = null;
  }

  /** Always safe to call, also after a failure: thaws, kills, removes the temp dir. */
  async cleanup(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
    process.removeListener('exit', this.onExit);
  }

  /** Last resort when the test process exits without cleanup (synchronous). */
  private killNow(): void {
    if (this.child?.pid) {
      if (this.frozen) signal(this.child.pid, 'SIGCONT');
      signal(this.child.pid, 'SIGKILL');
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
