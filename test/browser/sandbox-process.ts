import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';

/** A free TCP port on 127.0.0.1 (closed again before it is handed back). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface RunningSandbox {
  port: number;
  /** The URL `npm run sandbox` printed. */
  url: string;
  output: () => string;
  stop(): Promise<void>;
}

/**
 * Runs `npm run sandbox` exactly as a developer does (own process group, so stopping it stops
 * node too) and waits, bounded, for the URL it prints.
 */
export async function startSandbox(dataDir: string, timeoutMs = 120_000): Promise<RunningSandbox> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, SANDBOX_PORT: String(port), SANDBOX_DATA_DIR: dataDir };
  delete env.DATABASE_URL; // the sandbox ignores it anyway; proves it needs no server
  delete env.NODE_ENV;
  const child: ChildProcess = spawn('npm', ['run', '--silent', 'sandbox'], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    process.kill(-child.pid!, 'SIGTERM');
    const killer = setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } }, 10_000);
    await exited;
    clearTimeout(killer);
  };
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sandbox printed no URL within ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const check = () => {
      const match = /^Open (http\S+)$/m.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sandbox exited with ${code}:\n${out}`));
    });
  }).catch(async (err: unknown) => {
    await stop();
    throw err;
  });
  return { port, url, output: () => out, stop };
}
