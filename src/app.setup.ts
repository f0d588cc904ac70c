import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import cookieParser from 'cookie-parser';
import { Logger } from 'nestjs-pino';
import { createValidationPipe } from './common/validation-pipe.js';
import { appConfig } from './config/app.config.js';
import type { ConfigType } from '@nestjs/config';

/** Everything main.ts applies to the app, shared with the e2e tests so they test the real thing. */
export function configureApp(app: NestExpressApplication): NestExpressApplication {
  const settings = app.get<ConfigType<typeof appConfig>>(appConfig.KEY);
  app.useLogger(app.get(Logger));
  app.disable('x-powered-by');
  if (settings.trustProxy) {
    const value = settings.trustProxy;
    app.set('trust proxy', /^\d+$/.test(value) ? Number(value) : value === 'true' ? true : value);
  }
  if (settings.corsOrigins.length > 0) {
    // The SPA calls authorize with credentials so the browser keeps the binding cookie.
    app.enableCors({
      origin: settings.corsOrigins,
      credentials: true,
      methods: ['GET', 'POST', 'PUT', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type', 'x-team-id', 'x-request-id'],
      exposedHeaders: ['retry-after'],
      maxAge: 600,
    });
  }
  app.useBodyParser('json', { limit: '32kb' });
  app.use(cookieParser());
  app.useGlobalPipes(createValidationPipe());
  app.enableShutdownHooks();

  const doc = new DocumentBuilder()
    .setTitle('jira-connect')
    .setDescription('Connect a team\'s Jira Cloud site through Atlassian OAuth 2.0 (3LO). Errors are RFC 9457 problem JSON with a `code`.')
    .setVersion('0.1.0')
    .addBearerAuth()
    .addGlobalParameters({ name: 'X-Team-Id', in: 'header', required: false, schema: { type: 'string', minLength: 1, maxLength: 255 } })
    .build();
  SwaggerModule.setup('api/docs', app, () => SwaggerModule.createDocument(app, doc), {
    jsonDocumentUrl: 'api/docs-json',
  });
  return app;
}
