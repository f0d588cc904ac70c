import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const WORKER = fileURLToPath(new URL('./webhook-worker.ts', import.meta.url));
const REGISTER = fileURLToPath(new URL('./swc-register.mjs', import.meta.url));

export interface WorkerMessage {
  type: string;
  port?: number;
  deliveryId?: string;
  attempt?: number;
}

export interface WebhookWorker {
  child: ChildProcess;
  port: number;
  /** Resolves with the next message of that type (bounded). */
  next(type: string, timeoutMs?: number): Promise<WorkerMessage>;
  kill(): Promise<void>;
  close(): Promise<void>;
}

/** Forks webhook-worker.ts (TypeScript through SWC, like the token workers) and waits for `ready`. */
export async function startWebhookWorker(env: Record<string, string>, bootTimeoutMs = 60_000): Promise<WebhookWorker> {
  const child = fork(WORKER, [], {
    execArgv: ['--import', REGISTER],
    env: { ...process.env, LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let err = '';
  child.stderr?.on('data', (c: Buffer) => (err += c.toString('utf8')));
  const inbox: WorkerMessage[] = [];
  const waiters: { type: string; resolve: (m: WorkerMessage) => void }[] = [];
  child.on('message', (msg: WorkerMessage) => {
    const i = waiters.findIndex((w) => w.type === msg.type);
    if (i >= 0) waiters.splice(i, 1)[0].resolve(msg);
    else inbox.push(msg);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const next = (type: string, timeoutMs = 30_000) => {
    const queued = inbox.findIndex((m) => m.type === type);
    if (queued >= 0) return Promise.resolve(inbox.splice(queued, 1)[0]);
    return new Promise<WorkerMessage>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`webhook worker: no ${type} after ${timeoutMs} ms\n${err}`)), timeoutMs);
      void exited.then(() => reject(new Error(`webhook worker exited before ${type}\n${err}`)));
      waiters.push({ type, resolve: (m) => {
        clearTimeout(timer);
        resolve(m);
      } });
    });
  };
  const ready = await next('ready', bootTimeoutMs);
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  return {
    child,
    port: ready.port!,
    next,
    kill,
    async close() {
      child.send({ type: 'close' });
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
      await kill();
    },
  };
}
