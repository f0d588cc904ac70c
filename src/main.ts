import 'reflect-metadata';
import { createServer } from 'node:net';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { ConfigType } from '@nestjs/config';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module.js';
import { configureApp } from './app.setup.js';
import { appConfig, readAppSettings } from './config/app.config.js';
import { findConfigurationProblems, formatConfigurationProblems } from './config/check-configuration.js';
import { loadEnvFile } from './config/load-env-file.js';
import { formatUnknownVariables, knownVariableNames, unknownVariables } from './config/unknown-variables.js';
import { startupFailureMessage } from './startup-failure.js';

/**
 * Fails at once when another process holds the port, before the database is opened: that took
 * seconds of embedded-database start-up (or a minute of retries while PostgreSQL was down) before
 * the operator heard of a port conflict. Port 0 (any free port) needs no check. Another process
 * can still take the port between this check and app.listen, which reports it the same way.
 */
async function ensurePortFree(port: number): Promise<void> {
  if (port === 0) return;
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', (err) => reject(Object.assign(err, { port })));
    // No host, as app.listen: the same wildcard address (IPv6 and IPv4 where available).
    probe.listen(port, () => probe.close(() => resolve()));
  });
}

async function bootstrap(): Promise<void> {
  loadEnvFile();
  // A misspelt variable (JIRA_CLIENTID) is otherwise ignored in silence, and its default applies.
  for (const line of formatUnknownVariables(unknownVariables(Object.keys(process.env), knownVariableNames()))) console.warn(line);
  const problems = findConfigurationProblems();
  if (problems.length > 0) {
    console.error(formatConfigurationProblems(problems));
    process.exit(1);
  }
  await ensurePortFree(readAppSettings().port);
  // Errors come back to the catch below as one message; Nest's own handler would log a stack
  // trace (and a buffered log is only flushed once the app started).
  const app = configureApp(await NestFactory.create<NestExpressApplication>(AppModule, {
    bufferLogs: true,
    abortOnError: false,
    autoFlushLogs: false,
  }));
  app.flushLogs();
  const { port } = app.get<ConfigType<typeof appConfig>>(appConfig.KEY);
  await app.listen(port).catch(async (err: unknown) => {
    await app.close();
    throw Object.assign(err as object, { port });
  });
  app.get(Logger).log(`jira-connect listening on http://localhost:${port} (docs: /api/docs)`, 'Bootstrap');
}

bootstrap().catch((err: unknown) => {
  console.error(startupFailureMessage(err));
  process.exit(1);
});
