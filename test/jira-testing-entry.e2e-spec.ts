import { Module, type INestApplication } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { Request } from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDatabaseSettings } from '../src/config/database.config.js';
import { createDataSource } from '../src/database/data-source.js';
import { JiraClient, JiraIntegrationModule, TeamAccessPolicy, type TeamRole } from '../src/integrations/jira/index.js';
import { startFakeAtlassian, type RunningFakeAtlassian } from '../src/integrations/jira/testing/index.js';
import { freePort } from './helpers/free-port.js';

/*
 * The testing entry as a host's own test uses it: the fake Atlassian started on a port the host
 * chose, its `atlassian` handed to JiraIntegrationModule.forRoot, and a whole connect flow (the
 * code exchanged for tokens at the fake) and a Jira call through JiraClient.
 */
const TEAM = 'team-testing-entry';
const USER = 'user-testing-entry';

class OnePolicy extends TeamAccessPolicy {
  async roleOf(teamId: string, userId: string): Promise<TeamRole | null> {
    return teamId === TEAM && userId === USER ? 'owner' : null;
  }
}

describe('src/integrations/jira/testing: startFakeAtlassian for a host\'s tests', () => {
  let port: number;
  let atlassian: RunningFakeAtlassian;
  let app: INestApplication;

  beforeAll(async () => {
    port = await freePort();
    atlassian = await startFakeAtlassian({ port, redirectUri: 'http://127.0.0.1/jira/oauth/callback' });
    const database = TypeOrmModule.forRootAsync({
      useFactory: () => ({}),
      dataSourceFactory: async () => {
        const ds = createDataSource(readDatabaseSettings());
        await ds.initialize();
        await ds.runMigrations();
        return ds;
      },
    });
    @Module({ imports: [database, EventEmitterModule.forRoot(), JiraIntegrationModule.forRoot({
      routePrefix: 'jira',
      atlassian: atlassian.atlassian,
      encryption: { currentKey: process.env.ENCRYPTION_KEY! },
      teamAccessPolicy: new OnePolicy(),
      currentUser: (req: Request) => req.get('x-user') ?? null,
    })] })
    class HostTestModule {}
    app = await (await Test.createTestingModule({ imports: [HostTestModule] }).compile()).createNestApplication({ logger: false }).init();
  });
  afterAll(async () => {
    await app?.close();
    await atlassian?.stop();
  });

  it('listens on the chosen port and hands out the module\'s atlassian options and the standalone env', () => {
    expect(atlassian.url).toBe(`http://127.0.0.1:${port}`);
    expect(atlassian.atlassian).toEqual({
      clientId: atlassian.fake.clientId, clientSecret: atlassian.fake.clientSecret, redirectUri: 'http://127.0.0.1/jira/oauth/callback',
      authBaseUrl: atlassian.url, apiBaseUrl: atlassian.url,
    });
    expect(atlassian.env).toMatchObject({ JIRA_AUTH_BASE_URL: atlassian.url, JIRA_API_BASE_URL: atlassian.url, JIRA_CLIENT_ID: atlassian.fake.clientId });
  });

  it('refuses a port already taken, instead of another one', async () => {
    await expect(startFakeAtlassian({ port })).rejects.toThrow(/EADDRINUSE/);
  });

  it('completes a connect flow against it: consent, code exchanged for tokens, a Jira call', async () => {
    const http = request(app.getHttpServer());
    const as = { 'x-user': USER, 'x-team-id': TEAM };
    const authorize = await http.post('/jira/oauth/authorize').set(as).send({});
    expect(authorize.status, authorize.text).toBe(200);
    expect(authorize.body.data.authorizationUrl).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${port}/authorize\\?`));
    const cookie = ([] as string[]).concat(authorize.headers['set-cookie'] ?? []).find((c) => c.startsWith('jc_jira_oauth_'))!;
    const callback = await atlassian.consent(authorize.body.data.authorizationUrl);
    const done = await http.get(callback.pathname + callback.search).set('Cookie', cookie.split(';')[0]);
    expect(done.status, done.text).toBe(200);
    expect(done.body.data.status).toBe('connected');
    expect(atlassian.fake.tokenRequests.map((r) => [r.grant, r.status])).toEqual([['authorization_code', 200]]);
    expect((await app.get(JiraClient).forTeam(TEAM).myself()).accountId).toBe(atlassian.fake.account.accountId);
  });

  it('shows Atlassian\'s consent screen when asked (consentPage), and Accept redirects with a code', async () => {
    const withPage = await startFakeAtlassian({ consentPage: true, redirectUri: 'http://127.0.0.1/jira/oauth/callback' });
    try {
      const authorizeUrl = `${withPage.url}/authorize?audience=api.atlassian.com&client_id=${withPage.atlassian.clientId}`
        + `&scope=read%3Ajira-work%20offline_access&redirect_uri=${encodeURIComponent(withPage.atlassian.redirectUri)}`
        + '&state=s1&response_type=code&prompt=consent';
      const page = await fetch(authorizeUrl);
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/<button id="accept" name="decision" value="accept">Accept<\/button>/);
      const accepted = await fetch(authorizeUrl, {
        method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'decision=accept',
      });
      expect(accepted.status).toBe(302);
      const back = new URL(accepted.headers.get('location')!);
      expect(back.origin + back.pathname).toBe(withPage.atlassian.redirectUri);
      expect(back.searchParams.get('state')).toBe('s1');
      expect(back.searchParams.get('code')).toBeTruthy();
    } finally {
      await withPage.stop();
    }
  });
});
