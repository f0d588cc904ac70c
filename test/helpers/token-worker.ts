import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '../../src/app.module.js';
import { JiraTokenManager } from '../../src/integrations/jira/tokens/jira-token-manager.service.js';

/*
 * A separate OS process running the real app (see token-workers.ts): it boots, reports `ready`,
 * and on `go` fires WORKER_CALLS concurrent getAccessToken(WORKER_TEAM_ID) calls, then reports
 * every result (tokens go back to the test process only, over IPC).
 */
const teamId = process.env.WORKER_TEAM_ID!;
const calls = Number(process.env.WORKER_CALLS ?? '1');
const send = (msg: unknown) => new Promise<void>((resolve) => process.send!(msg, () => resolve()));

const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
const tokens = app.get(JiraTokenManager);
process.on('message', (msg: { type: string }) => {
  if (msg.type !== 'go') return;
  void (async () => {
    const settled = await Promise.allSettled(Array.from({ length: calls }, () => tokens.getAccessToken(teamId)));
    const results = settled.map((r) =>
      r.status === 'fulfilled' ? { token: r.value } : { error: String((r.reason as { code?: string }).code ?? (r.reason as Error).message) });
    await send({ type: 'done', results });
    await app.close();
    process.exit(0);
  })();
});
await send({ type: 'ready' });
