import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../integrations/jira/common/app-error.js';
import { Clock } from '../integrations/jira/common/clock.js';
import { HttpTeamAccessPolicy } from './http-team-access.policy.js';

/** The product's membership endpoint: records every path asked, answers by the last segment. */
describe('HttpTeamAccessPolicy', () => {
  let server: Server;
  let template = '';
  const asked: string[] = [];
  let bytesSent = 0;

  beforeAll(async () => {
    server = createServer((req, res) => {
      asked.push(req.url ?? '');
      if ((req.url ?? '').endsWith('/huge')) {
        // 5 MB of valid JSON: never parsed, never a grant.
        const chunk = `{"role":"admin","pad":"${'x'.repeat(64 * 1024)}`;
        res.writeHead(200, { 'content-type': 'application/json' });
        bytesSent = 0;
        const pump = (): void => {
          while (bytesSent < 5 * 1024 * 1024) {
            bytesSent += chunk.length;
            if (!res.write(bytesSent === chunk.length ? chunk : 'x'.repeat(64 * 1024))) return void res.once('drain', pump);
          }
          res.end('"}');
        };
        res.on('error', () => undefined);
        return pump();
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ role: 'admin', pad: 'y'.repeat(1000) }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    template = `http://127.0.0.1:${(server.address() as AddressInfo).port}/internal/teams/{teamId}/members/{userId}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const policy = (maxAnswerBytes = 16 * 1024) => new HttpTeamAccessPolicy({
    policy: 'http', teamsClaim: 'teams', roleMap: new Map(), url: template, timeoutMs: 2000, cacheMs: 0, maxAnswerBytes,
  }, new Clock());

  it.each([['..', 'u_admin'], ['.', 'u_admin'], ['t1', '..'], ['t1', '.'], ['%2e%2e', 'u']])(
    'never asks another URL: team %j, user %j is refused with invalid_id and nothing is asked', async (teamId, userId) => {
      const before = asked.length;
      const err = await policy().roleOf(teamId, userId).catch((e: unknown) => e);
      if (teamId === '%2e%2e') {
        // Encoded as %252e%252e: one literal segment, the product sees the id as it is.
        expect(err).toBe('admin');
        expect(asked.at(-1)).toBe('/internal/teams/%252e%252e/members/u');
        return;
      }
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe('invalid_id');
      expect(asked.length).toBe(before);
    });

  it('reads an answer within TEAM_ACCESS_MAX_ANSWER_KB', async () => {
    expect(await policy().roleOf('t1', 'u1')).toBe('admin');
    expect(asked.at(-1)).toBe('/internal/teams/t1/members/u1');
  });

  it('an answer larger than the limit is 503 team_access_unavailable (never a grant)', async () => {
    const err = await policy().roleOf('t1', 'huge').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('team_access_unavailable');
    expect((err as AppError).extensions.reason).toMatch(/larger than 16384 bytes/);
    // A 1 kB limit refuses even the small answer above.
    const small = await policy(1024).roleOf('t1', 'u1').catch((e: unknown) => e);
    expect((small as AppError).code).toBe('team_access_unavailable');
  });
});
