import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { ConfigType } from '@nestjs/config';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module.js';
import { configureApp } from './app.setup.js';
import { appConfig } from './config/app.config.js';
import { findConfigurationProblems, formatConfigurationProblems } from './config/check-configuration.js';
import { loadEnvFile } from './config/load-env-file.js';
import { formatUnknownVariables, knownVariableNames, unknownVariables } from './config/unknown-variables.js';
import { startupFailureMessage } from './startup-failure.js';

async function bootstrap(): Promise<void> {
  loadEnvFile();
  // A misspelt variable (JIRA_CLIENTID) is otherwise ignored in silence, and its default applies.
  for (const line of formatUnknownVariables(unknownVariables(Object.keys(process.env), knownVariableNames()))) console.warn(line);
  const problems = findConfigurationProblems();
  if (problems.length > 0) {
    console.error(formatConfigurationProblems(problems));
    process.exit(1);
  }
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
