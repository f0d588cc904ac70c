import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { ConfigType } from '@nestjs/config';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module.js';
import { configureApp } from './app.setup.js';
import { appConfig } from './config/app.config.js';
import { EnvValidationError } from './config/validate-env.js';

async function bootstrap(): Promise<void> {
  const app = configureApp(await NestFactory.create<NestExpressApplication>(AppModule, { bufferLogs: true }));
  const { port } = app.get<ConfigType<typeof appConfig>>(appConfig.KEY);
  await app.listen(port);
  app.get(Logger).log(`jira-connect listening on http://localhost:${port} (docs: /api/docs)`, 'Bootstrap');
}

bootstrap().catch((err: unknown) => {
  const configError = err instanceof EnvValidationError ? err : (err as { cause?: unknown })?.cause;
  if (configError instanceof EnvValidationError) {
    console.error(configError.message);
  } else {
    console.error('jira-connect failed to start:', err instanceof Error ? err.message : err);
  }
  process.exit(1);
});
