import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import type { INestApplication } from '@nestjs/common';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import cookieParser from 'cookie-parser';
import { Logger } from 'nestjs-pino';
import { createValidationPipe } from './integrations/jira/common/validation-pipe.js';
import { bodyOfType, claimBody, JSON_BODY_LIMIT_BYTES } from './integrations/jira/common/http/body-limits.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { rejectDeepBodies } from './integrations/jira/common/http/body-depth.middleware.js';
import { addProblemCodeCatalogue } from './integrations/jira/common/openapi/problem-catalogue.js';
import { appConfig } from './config/app.config.js';
import type { ConfigType } from '@nestjs/config';
import { JIRA_SETTINGS, type JiraModuleSettings } from './integrations/jira/config/module-settings.js';
import { captureWebhookBody, JIRA_WEBHOOK_PATH, webhookVerifier } from './integrations/jira/webhooks/webhook-request.js';
import { Clock } from './integrations/jira/common/clock.js';
import { isJiraProxyRequest } from './integrations/jira/proxy/proxy-request.js';
import { PROXY_PROBLEM_HEADER } from './integrations/jira/proxy/proxy-headers.js';

/** Everything main.ts applies to the app, shared with the e2e tests so they test the real thing. */
export function configureApp(app: NestExpressApplication): NestExpressApplication {
  const settings = app.get<ConfigType<typeof appConfig>>(appConfig.KEY);
  app.useLogger(app.get(Logger));
  app.disable('x-powered-by');
  if (settings.trustProxy !== false) app.set('trust proxy', settings.trustProxy);
  if (settings.corsOrigins.length > 0) {
    // The SPA calls authorize with credentials so the browser keeps the binding cookie.
    app.enableCors({
      origin: settings.corsOrigins,
      credentials: true,
      methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
      // accept-language and x-atlassian-token: what the Jira proxy passes on.
      allowedHeaders: ['authorization', 'content-type', 'x-team-id', 'x-request-id', 'accept-language', 'x-atlassian-token'],
      // The proxy's marker and Jira's rate-limit headers, which the SPA needs to read.
      exposedHeaders: ['retry-after', PROXY_PROBLEM_HEADER, 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'x-ratelimit-nearlimit',
        'ratelimit-reason', 'x-arequestid'],
      maxAge: 600,
    });
  }
  // Jira webhook bodies are read only after their JWT is verified, raw (and may exceed the API's limit).
  const { jira, webhooks } = app.get<JiraModuleSettings>(JIRA_SETTINGS);
  const clock = app.get(Clock);
  app.use(JIRA_WEBHOOK_PATH, captureWebhookBody(webhooks.maxBodyBytes,
    webhookVerifier(jira.clientSecret, webhooks.jwtMaxLifetimeSeconds, () => clock.now())));
  // The Jira proxies' bodies stream to Jira untouched: no parser reads them.
  app.use((req: IncomingMessage, _res: ServerResponse, next: () => void) => { if (isJiraProxyRequest(req)) claimBody(req); next(); });
  app.useBodyParser('json', { limit: JSON_BODY_LIMIT_BYTES, type: bodyOfType('application/json') });
  // Registered here so Nest does not add its default one, which would also parse GET bodies.
  app.useBodyParser('urlencoded', { limit: JSON_BODY_LIMIT_BYTES, extended: false, type: bodyOfType('application/x-www-form-urlencoded') });
  app.use(rejectDeepBodies);
  app.use(cookieParser());
  app.useGlobalPipes(createValidationPipe());
  app.enableShutdownHooks();

  SwaggerModule.setup('api/docs', app, () => openApiDocument(app), { jsonDocumentUrl: 'api/docs-json' });
  return app;
}

/**
 * The OpenAPI document served at /api/docs-json. It needs only the module graph, not running
 * providers, so scripts/docs builds it from an app created with `preview: true` (no database, no
 * listen) and commits it as docs/openapi.json.
 */
export function openApiDocument(app: INestApplication): OpenAPIObject {
  const doc = new DocumentBuilder()
    .setTitle('jira-connect')
    .setDescription('Connect a team\'s Jira Cloud site through Atlassian OAuth 2.0 (3LO). Errors are RFC 9457 problem JSON '
      + '(`#/components/schemas/Problem`) with a `code`; each response lists its codes as an enum, and ProblemCode lists them all. '
      + 'Team routes take the team in the `X-Team-Id` header.')
    .setVersion(packageVersion())
    .addBearerAuth()
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'One of ADMIN_API_KEYS (admin API only)' }, 'admin-key')
    .build();
  return addProblemCodeCatalogue(SwaggerModule.createDocument(app, doc));
}

/** package.json's version (src/ and dist/src/ sit at different depths under the package root). */
function packageVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  }
  return '0.0.0';
}
