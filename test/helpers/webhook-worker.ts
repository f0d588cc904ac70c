import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { AddressInfo } from 'node:net';
import { AppModule } from '../../src/app.module.js';
import { configureApp } from '../../src/app.setup.js';
import { OnJiraWebhook } from '../../src/integrations/jira/webhooks/on-jira-webhook.decorator.js';
import type { JiraWebhookEvent } from '../../src/integrations/jira/webhooks/webhook-subscription.js';

/*
 * A separate OS process serving the real app on 127.0.0.1 (see webhook-workers.ts), with one
 * webhook handler: WORKER_MODE=hang starts handling, reports `started` and never finishes (the
 * test kills the process there); WORKER_MODE=record reports `handled` for every event.
 */
const send = (msg: unknown) => new Promise<void>((resolve) => process.send!(msg, () => resolve()));

@Injectable()
class WorkerHandler {
  @OnJiraWebhook({ events: ['jira:issue_created', 'jira:issue_updated'], jqlFilter: 'project = ABC' })
  async onIssue(event: JiraWebhookEvent): Promise<void> {
    if (process.env.WORKER_MODE === 'hang') {
      await send({ type: 'started', deliveryId: event.deliveryId });
      await new Promise(() => undefined);
    }
    await send({ type: 'handled', deliveryId: event.deliveryId, attempt: event.attempt });
  }
}

@Module({ imports: [AppModule], providers: [WorkerHandler] })
class WorkerModule {}

const app = configureApp(await NestFactory.create<NestExpressApplication>(WorkerModule, { logger: false }));
await app.listen(0, '127.0.0.1');
process.on('message', (msg: { type: string }) => {
  if (msg.type !== 'close') return;
  void app.close().then(() => process.exit(0));
});
await send({ type: 'ready', port: (app.getHttpServer().address() as AddressInfo).port });
