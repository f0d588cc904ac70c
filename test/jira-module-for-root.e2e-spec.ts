import { ConsoleLogger, Controller, Get, Headers, Injectable, Logger, Module, type INestApplication, type LogLevel } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { Test } from '@nestjs/testing';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { InjectDataSource, TypeOrmModule } from '@nestjs/typeorm';
import type { Request } from 'express';
import request from 'supertest';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readDatabaseSettings } from '../src/config/database.config.js';
import { createDataSource } from '../src/database/data-source.js';
import * as entry from '../src/integrations/jira/index.js';
import {
  JiraClient,
  JiraIntegrationModule,
  MetricsService,
  TeamAccessPolicy,
  type JiraIntegrationModuleForRootOptions,
  type TeamRole,
} from '../src/integrations/jira/index.js';
import { FakeAtlassian } from '../src/integrations/jira/testing/fake-atlassian/fake-atlassian.js';
import { JobRunner } from '../src/integrations/jira/jobs/job-runner.js';

/*
 * The module through forRoot (static options) in the barest host: its own DataSource, the
 * EventEmitterModule, and nothing else of this app (no ConfigModule, AuthModule, global filter,
 * ValidationPipe or cookie-parser). The user comes from the `currentUser` option; the policy is a
 * class the module instantiates, injecting the host's DataSource.
 */
const TEAM = 'org_2x';
const USER = 'auth0|abc';

@Injectable()
class OneTeamPolicy extends TeamAccessPolicy {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    super();
  }

  async roleOf(teamId: string, userId: string): Promise<TeamRole | null> {
    await this.dataSource.query('SELECT 1'); // the host's DataSource reached it
    return teamId === TEAM && userId === USER ? 'admin' : null;
  }
}

const hostDatabase = TypeOrmModule.forRootAsync({
  useFactory: () => ({}),
  dataSourceFactory: async () => {
    const ds = createDataSource(readDatabaseSettings());
    await ds.initialize();
    await ds.runMigrations();
    return ds;
  },
});

/** A route of the host's own, calling the exported JiraClient; the host registers no exception filter. */
@Controller('host')
class HostJiraController {
  constructor(private readonly jira: JiraClient) {}

  @Get('myself')
  async myself(@Headers('x-team-id') teamId: string) {
    return { accountId: (await this.jira.forTeam(teamId).myself()).accountId };
  }
}

/** Nest's default logger, recording the entries it would print instead of printing them. */
class EntryRecorder extends ConsoleLogger {
  readonly entries: { context?: string; level?: LogLevel; message: unknown }[] = [];

  protected override printMessages(messages: unknown[], context?: string, level?: LogLevel): void {
    for (const message of messages) this.entries.push({ context, level, message });
  }
}

async function boot(options: JiraIntegrationModuleForRootOptions, logger: EntryRecorder): Promise<INestApplication> {
  @Module({ imports: [hostDatabase, EventEmitterModule.forRoot(), JiraIntegrationModule.forRoot(options)], controllers: [HostJiraController] })
  class BareHostModule {}
  const app = (await Test.createTestingModule({ imports: [BareHostModule] }).compile()).createNestApplication({ logger });
  return app.init();
}

describe('JiraIntegrationModule.forRoot in a bare host', () => {
  const fake = new FakeAtlassian({ redirectUri: 'http://127.0.0.1/jira/oauth/callback' });
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  const as = { 'x-user': USER, 'x-team-id': TEAM };
  const warn = vi.spyOn(Logger.prototype, 'warn');
  const logger = new EntryRecorder();

  beforeAll(async () => {
    await fake.start();
    app = await boot({
      routePrefix: 'jira',
      atlassian: { clientId: fake.clientId, clientSecret: fake.clientSecret, redirectUri: fake.redirectUri, authBaseUrl: fake.url, apiBaseUrl: fake.url },
      encryption: { currentKey: process.env.ENCRYPTION_KEY! },
      teamAccessPolicy: OneTeamPolicy,
      currentUser: (req: Request) => req.get('x-user') ?? null,
    }, logger);
    http = request(app.getHttpServer());
  });
  afterAll(async () => {
    await app?.close();
    await fake.stop();
  });

  it('needs no ScheduleModule.forRoot(): its periodic jobs are scheduled on its own job runner', () => {
    expect(warn.mock.calls.map((c) => String(c[0]))).not.toContainEqual(expect.stringMatching(/ScheduleModule/));
    warn.mockRestore();
    expect(app.get(JobRunner, { strict: false }).registered).toEqual(expect.arrayContaining([
      'jira-keepalive', 'jira-refresh-recovery', 'jira-personal-data-report', 'jira-oauth-state-purge']));
  });

  it('refuses a request without a user, or from another team, with problem JSON', async () => {
    const anonymous = await http.get('/jira/oauth/status').set('x-team-id', TEAM);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(anonymous.text).code).toBe('unauthenticated');
    const stranger = await http.get('/jira/oauth/status').set({ ...as, 'x-team-id': 'org_other' });
    expect(stranger.status).toBe(403);
    expect(JSON.parse(stranger.text).code).toBe('not_team_member');
  });

  it('validates bodies with its own pipe (the host has none)', async () => {
    const res = await http.post('/jira/oauth/authorize').set(as).send({ siteUrl: 'acme', extra: true });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text).code).toBe('validation_failed');
  });

  it('exports from its public entry what a host needs for webhooks and problem JSON', () => {
    expect(entry.OnJiraWebhook).toBeTypeOf('function');
    expect(new entry.ProblemDetailsFilter()).toBeTypeOf('object');
    expect(new entry.JiraError(entry.JiraErrorCode.NotConnected, 409, 'x')).toBeInstanceOf(entry.AppError);
  });

  it("puts every problem code of the module's routes in the host's own Swagger document with addProblemCodeCatalogue", () => {
    const doc = entry.addProblemCodeCatalogue(SwaggerModule.createDocument(app, new DocumentBuilder().setTitle('host').build()));
    const catalogue = (doc.components?.schemas?.ProblemCode as { enum: string[] }).enum;
    expect(catalogue).toEqual(expect.arrayContaining(['jira_not_connected', 'oauth_state_expired', 'team_access_unavailable', 'not_found']));
    expect(Object.keys(doc.paths)).toContain('/jira/oauth/authorize');
  });

  it("answers the module's errors on the host's own routes as problem JSON with their status, with no filter of the host's", async () => {
    const res = await http.get('/host/myself').set(as);
    expect(res.status, res.text).toBe(409);
    expect(res.body).toEqual({
      type: 'https://jira-connect.dev/problems/jira_not_connected',
      title: 'Jira is not connected',
      status: 409,
      detail: expect.stringMatching(/^Connect Jira for this team first/),
      code: 'jira_not_connected',
    });
  });

  it('connects and exports a working JiraClient and its metrics', async () => {
    const authorize = await http.post('/jira/oauth/authorize').set(as).send({});
    expect(authorize.status, authorize.text).toBe(200);
    const cookie = ([] as string[]).concat(authorize.headers['set-cookie'] ?? []).find((c) => c.startsWith('jc_jira_oauth_'))!;
    const callback = await fake.consent(authorize.body.data.authorizationUrl);
    // No cookie-parser in this host: the module reads the Cookie header itself.
    const done = await http.get(callback.pathname + callback.search).set('Cookie', cookie.split(';')[0]);
    expect(done.status, done.text).toBe(200);
    expect(done.body.data.status).toBe('connected');
    expect((await app.get(JiraClient).forTeam(TEAM).myself()).accountId).toBe(fake.account.accountId);
    expect(await app.get(MetricsService).registry.metrics()).toMatch(/jira_oauth_flows_total\{outcome="connected"\} 1/);
  });

  it("prints each of the module's log events as one entry under Nest's default logger, in its class's context", () => {
    const oauth = logger.entries.filter((e) => e.context === 'JiraOAuthService');
    expect(oauth).toEqual([
      { context: 'JiraOAuthService', level: 'log', message: expect.objectContaining({ teamId: TEAM, msg: 'jira authorization started' }) },
      { context: 'JiraOAuthService', level: 'log', message: expect.objectContaining({ teamId: TEAM, status: 'connected', msg: 'jira authorization completed' }) },
    ]);
    // No message text taken for a context, no field object printed apart from its message.
    for (const entry of logger.entries) expect(entry.context, JSON.stringify(entry)).toMatch(/^[A-Z]\w+$/);
  });
});
