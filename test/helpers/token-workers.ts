import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/*
 * Child processes for the cross-process tests. They run the TypeScript sources through an SWC
 * loader (swc-register.mjs) rather than `dist/`, so they always test the current code without a
 * build, and they inherit this test file's DATABASE_URL and keys.
 */
const WORKER = fileURLToPath(new URL('./token-worker.ts', import.meta.url));
const REGISTER = fileURLToPath(new URL('./swc-register.mjs', import.meta.url));

export type WorkerResult = { token: string } | { error: string };

export interface TokenWorker {
  child: ChildProcess;
  /** Fire the calls; resolves with every caller's result. */
  go(): Promise<WorkerResult[]>;
  kill(): void;
  stderr(): string;
}

export async function startTokenWorker(env: Record<string, string>, bootTimeoutMs = 30_000): Promise<TokenWorker> {
  const child = fork(WORKER, [], {
    execArgv: ['--import', REGISTER],
    env: { ...process.env, LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let err = '';
  child.stderr?.on('data', (c: Buffer) => (err += c.toString('utf8')));
  const next = (type: string, timeoutMs: number) =>
    new Promise<{ type: string; results?: WorkerResult[] }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker: no ${type} after ${timeoutMs} ms\n${err}`)), timeoutMs);
      const onMessage = (msg: { type: string }) => {
        if (msg.type !== type) return;
        cleanup();
        resolve(msg);
      };
      const onExit = (code: number | null) => {
        cleanup();
        reject(new Error(`worker exited (${code}) before ${type}\n${err}`));
      };
      const cleanup = () => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      child.on('message', onMessage);
      child.on('exit', onExit);
    });
  await next('ready', bootTimeoutMs);
  return {
    child,
    async go() {
      const done = next('done', 60_000);
      child.send({ type: 'go' });
      return (await done).results ?? [];
    },
    kill: () => void child.kill('SIGKILL'),
    stderr: () => err,
  };
}
