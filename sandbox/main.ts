import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { NextFunction, Request, Response } from 'express';
import type { DataSource } from 'typeorm';
import { AppModule } from '../src/app.module.js';
import { configureApp } from '../src/app.setup.js';
import { JwtVerifier } from '../src/auth/jwt-verifier.service.js';
import { readAuthSettings } from '../src/config/auth.config.js';
import { EnvValidationError } from '../src/integrations/jira/config/validate-env.js';
import { ensureMembership } from '../src/teams/teams.service.js';
import { FakeAtlassian, type FakeAccount } from '../src/integrations/jira/testing/fake-atlassian/fake-atlassian.js';
import { DEMO_PAGE_HTML } from './demo-page.js';

/*
 * `npm run sandbox`: the API on the embedded database (its own DATA_DIR), the fake Atlassian the
 * tests use (with its consent page), a demo user and team, and a demo page playing the SPA.
 * Prints one URL to open. Development only.
 */

const CALLBACK_PATH = '/api/integrations/jira/oauth/callback';
const DEMO_PATH = '/sandbox/';

/** The consenting Atlassian account: two sites, so the demo shows the site choice. */
function sandboxAccount(): FakeAccount {
  const site = (host: string, name: string) => ({
    id: `sandbox-cloud-${host}`,
    url: `https://${host}.atlassian.net`,
    name,
    scopes: ['read:jira-user', 'read:jira-work'],
  });
  return {
    accountId: 'sandbox-account-alice',
    name: 'Alice Example',
    email: 'alice@example.com',
    sites: [site('acme', 'Acme'), site('acme-labs', 'Acme Labs')],
  };
}

/**
 * What the sandbox sets over `.env` and the environment, so a developer's PostgreSQL, identity
 * provider, Redis or real Atlassian app never leak into it (empty means unset).
 */
function sandboxEnv(port: number, fake: FakeAtlassian): Record<string, string> {
  const origins = [`http://localhost:${port}`, `http://127.0.0.1:${port}`];
  return {
    NODE_ENV: 'development',
    PORT: String(port),
    LOG_LEVEL: process.env.SANDBOX_LOG_LEVEL ?? 'warn',
    DATA_DIR: process.env.SANDBOX_DATA_DIR ?? './.data-sandbox',
    DATABASE_URL: '',
    TRUST_PROXY: '',
    REDIS_URL: '',
    ENCRYPTION_KEY: '',
    ENCRYPTION_PREVIOUS_KEYS: '',
    AUTH_JWT_SECRET: '',
    AUTH_JWKS_URL: '',
    AUTH_JWT_ISSUER: '',
    AUTH_JWT_AUDIENCE: '',
    ...fake.env(),
    JIRA_SCOPES: 'read:jira-user read:jira-work read:me offline_access',
    OAUTH_RETURN_ORIGINS: origins.join(','),
    CORS_ORIGINS: origins.join(','),
    OAUTH_DEFAULT_RETURN_URL: `${origins[0]}${DEMO_PATH}`,
  };
}

/** GET /sandbox and /sandbox/ answer the demo page; everything else goes on to the API. */
function serveDemoPage(req: Request, res: Response, next: NextFunction): void {
  if (req.method !== 'GET' || (req.path !== '/' && req.path !== '')) return next();
  res.setHeader('Cache-Control', 'no-store');
  res.type('html').send(DEMO_PAGE_HTML);
}

async function main(): Promise<void> {
  if (process.env.NODE_ENV === 'production') {
    throw new EnvValidationError(['npm run sandbox is for development only: it fakes Atlassian and mints tokens without a login (NODE_ENV=production).']);
  }
  const port = Number(process.env.SANDBOX_PORT ?? 3000);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new EnvValidationError([`SANDBOX_PORT must be a port number (got ${process.env.SANDBOX_PORT})`]);

  const fake = new FakeAtlassian({
    clientId: 'jira-connect-sandbox',
    redirectUri: `http://localhost:${port}${CALLBACK_PATH}`,
    consentPage: true,
  });
  fake.account = sandboxAccount();
  await fake.start();
  Object.assign(process.env, sandboxEnv(port, fake));

  const app = configureApp(await NestFactory.create<NestExpressApplication>(AppModule, { bufferLogs: true }));
  app.use('/sandbox', serveDemoPage);
  await app.listen(port, '127.0.0.1');

  // What `npm run cli -- dev:token` does: the demo user, team and membership, and a signed token.
  const dataSource = app.get<DataSource>(getDataSourceToken());
  const member = await dataSource.transaction((m) => ensureMembership(m, 'alice@example.com', 'Sandbox team', 'owner'));
  // As long-lived as AUTH_JWT_MAX_AGE_SECONDS allows (default one day): restart the sandbox for a new one.
  const token = await app.get(JwtVerifier).sign(member.userId, readAuthSettings().maxTokenAgeSeconds);
  // The fake keeps its grants in memory: a connection left by an earlier run would point at
  // tokens it no longer knows, so every run starts not connected.
  await dataSource.query('DELETE FROM jira_integrations WHERE team_id = $1', [member.teamId]);

  const fragment = new URLSearchParams({ token, team: member.teamId });
  console.log(`jira-connect sandbox: API on the embedded database in ${process.env.DATA_DIR}, fake Atlassian at ${fake.url}`);
  console.log(`Demo user alice@example.com, owner of "Sandbox team". Stop with Ctrl-C.`);
  console.log(`\nOpen http://localhost:${port}${DEMO_PATH}#${fragment}\n`);
  app.getHttpServer().on('close', () => void fake.stop());
}

main().catch((err: unknown) => {
  const configError = err instanceof EnvValidationError ? err : (err as { cause?: unknown })?.cause;
  if (configError instanceof EnvValidationError) {
    console.error(configError.message);
    process.exit(2);
  }
  const inUse = (err as { code?: string })?.code === 'EADDRINUSE';
  console.error(inUse
    ? `sandbox: port ${process.env.SANDBOX_PORT ?? 3000} is in use; set SANDBOX_PORT to another one.`
    : `sandbox failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
