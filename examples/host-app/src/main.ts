import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { HostAppModule } from './host-app.module.js';

/** A product's backend embedding the Jira integration (see ../README.md). */
const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};

const app = await NestFactory.create(HostAppModule.register({
  database: { url: env('DATABASE_URL') },
  atlassian: { clientId: env('JIRA_CLIENT_ID'), clientSecret: env('JIRA_CLIENT_SECRET'), redirectUri: env('JIRA_REDIRECT_URI') },
  encryptionKey: env('ENCRYPTION_KEY'),
  // Jira's webhooks (optional): the public URL of /integrations/jira/webhooks.
  webhooks: process.env.JIRA_WEBHOOK_URL ? { url: process.env.JIRA_WEBHOOK_URL } : undefined,
}));
await app.listen(Number(process.env.PORT ?? 3001));
