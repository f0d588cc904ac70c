import type { NestExpressApplication } from '@nestjs/platform-express';
import { Test, type TestingModuleBuilder } from '@nestjs/testing';
import { getDataSourceToken } from '@nestjs/typeorm';
import request from 'supertest';
import type { DataSource } from 'typeorm';
import { AppModule } from '../../src/app.module.js';
import { configureApp } from '../../src/app.setup.js';
import { JwtVerifier } from '../../src/auth/jwt-verifier.service.js';
import { LOG_DESTINATION } from '../../src/common/logging/logging.module.js';
import type { TeamRole } from '../../src/integrations/jira/teams/team-role.js';
import { addTestLogSink, LogCapture, testLogFanout } from './log-capture.js';

export interface TestMember {
  userId: string;
  teamId: string;
  role: TeamRole;
  token: string;
  /** Authorization and X-Team-Id headers for this member. */
  headers: Record<string, string>;
}

export interface TestApp {
  app: NestExpressApplication;
  http: ReturnType<typeof request>;
  dataSource: DataSource;
  logs: LogCapture;
  /** A signed bearer token for any user id. */
  tokenFor(userId: string, ttlSeconds?: number): Promise<string>;
  /** Creates a user in a team (a new team unless teamId is given) and signs a token. */
  member(role?: TeamRole, teamId?: string): Promise<TestMember>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** Environment for this app only (config is read while the app starts). */
  env?: Record<string, string | undefined>;
  /** Extra modules, e.g. a probe controller for guard tests. */
  imports?: NonNullable<Parameters<typeof Test.createTestingModule>[0]['imports']>;
  /** e.g. `b => b.overrideProvider(Clock).useValue(fakeClock)` */
  configure?: (builder: TestingModuleBuilder) => TestingModuleBuilder;
}

let counter = 0;

/** Boots the real AppModule, configured exactly as main.ts does, on this file's database. */
export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const logs = new LogCapture();
  const saved: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(options.env ?? {})) {
    saved[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  const unsubscribe = addTestLogSink(logs);
  let app: NestExpressApplication;
  try {
    let builder = Test.createTestingModule({ imports: [AppModule, ...(options.imports ?? [])] })
      .overrideProvider(LOG_DESTINATION).useValue(testLogFanout);
    if (options.configure) builder = options.configure(builder);
    const moduleRef = await builder.compile();
    app = configureApp(moduleRef.createNestApplication<NestExpressApplication>({ bufferLogs: true }));
    await app.init();
  } catch (err) {
    unsubscribe();
    throw err;
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  const dataSource = app.get<DataSource>(getDataSourceToken());
  const verifier = app.get(JwtVerifier);
  const tokenFor = (userId: string, ttl?: number) => verifier.sign(userId, ttl);
  return {
    app,
    http: request(app.getHttpServer()),
    dataSource,
    logs,
    tokenFor,
    async member(role: TeamRole = 'owner', teamId?: string) {
      const n = `${Date.now().toString(36)}-${process.pid}-${++counter}`;
      const [user] = (await dataSource.query('INSERT INTO users (email) VALUES ($1) RETURNING id', [`user-${n}@example.test`])) as { id: string }[];
      const team = teamId ?? ((await dataSource.query('INSERT INTO teams (name) VALUES ($1) RETURNING id', [`team-${n}`])) as { id: string }[])[0].id;
      await dataSource.query('INSERT INTO team_members (team_id, user_id, role) VALUES ($1, $2, $3)', [team, user.id, role]);
      const token = await tokenFor(user.id);
      return {
        userId: user.id,
        teamId: team,
        role,
        token,
        headers: { authorization: `Bearer ${token}`, 'x-team-id': team },
      };
    },
    close: async () => {
      await app.close();
      unsubscribe();
    },
  };
}
