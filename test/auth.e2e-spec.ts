import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { Controller, Get, Injectable, Module, UseGuards } from '@nestjs/common';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JwtVerifier } from '../src/auth/jwt-verifier.service.js';
import { readAuthSettings } from '../src/config/auth.config.js';
import type { TeamRole } from '../src/integrations/jira/teams/team-role.js';
import { CurrentTeam, type TeamContext } from '../src/integrations/jira/teams/team.decorators.js';
import { TeamAccessPolicy } from '../src/integrations/jira/teams/team-access.policy.js';
import { TeamGuard } from '../src/integrations/jira/teams/team.guard.js';
import { entryPointArgs } from './helpers/entry-point.js';
import { createTestApp, type TestApp } from './helpers/test-app.js';

@Controller('api/whoami')
@UseGuards(TeamGuard)
class WhoAmIController {
  @Get()
  who(@CurrentTeam() team: TeamContext) {
    return { data: team };
  }
}

@Module({ controllers: [WhoAmIController] })
class WhoAmIModule {}

const USER = '6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b';
const TEAM = '0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d';

describe('bearer tokens from an identity provider (JWKS, RS256)', () => {
  let jwks: Server;
  let t: TestApp;
  let sign: (claims: { sub?: string; iss?: string; aud?: string }, alg?: 'RS256') => Promise<string>;

  /** A host app's own membership model, swapped in for the team_members table. */
  @Injectable()
  class StaticPolicy extends TeamAccessPolicy {
    async roleOf(teamId: string, userId: string): Promise<TeamRole | null> {
      return teamId === TEAM && userId === USER ? 'admin' : null;
    }
  }

  beforeAll(async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    jwks = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;
    sign = (claims) => {
      let jwt = new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuedAt().setExpirationTime('5m');
      if (claims.sub) jwt = jwt.setSubject(claims.sub);
      if (claims.iss) jwt = jwt.setIssuer(claims.iss);
      if (claims.aud) jwt = jwt.setAudience(claims.aud);
      return jwt.sign(privateKey);
    };
    t = await createTestApp({
      imports: [WhoAmIModule],
      env: { AUTH_JWKS_URL: url, AUTH_JWT_ISSUER: 'https://idp.example.test', AUTH_JWT_AUDIENCE: 'jira-connect', AUTH_JWT_SECRET: undefined },
      configure: (b) => b.overrideProvider(TeamAccessPolicy).useClass(StaticPolicy),
    });
  });
  afterAll(async () => {
    await t?.close();
    await new Promise((r) => jwks.close(r));
  });

  const call = (token: string, team = TEAM) => t.http.get('/api/whoami').set({ authorization: `Bearer ${token}`, 'x-team-id': team });

  it('accepts a token signed by the JWKS key with the right issuer and audience', async () => {
    const res = await call(await sign({ sub: USER, iss: 'https://idp.example.test', aud: 'jira-connect' }));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.data).toEqual({ id: TEAM, role: 'admin' }); // from the swapped-in TeamAccessPolicy
  });

  it('rejects a wrong issuer, a wrong audience, a missing subject or one that is no id', async () => {
    for (const claims of [
      { sub: USER, iss: 'https://evil.example.test', aud: 'jira-connect' },
      { sub: USER, iss: 'https://idp.example.test', aud: 'other-app' },
      { iss: 'https://idp.example.test', aud: 'jira-connect' },
      { sub: 'x'.repeat(256), iss: 'https://idp.example.test', aud: 'jira-connect' },
      { sub: 'new\nline', iss: 'https://idp.example.test', aud: 'jira-connect' },
    ]) {
      const res = await call(await sign(claims));
      expect(res.status, JSON.stringify(claims)).toBe(401);
      expect(res.body.code).toBe('invalid_token');
    }
  });

  it('rejects an HS256 token in JWKS mode (no algorithm confusion)', async () => {
    const hs = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(USER).setIssuer('https://idp.example.test')
      .setAudience('jira-connect').setExpirationTime('5m').sign(new TextEncoder().encode('x'.repeat(48)));
    expect((await call(hs)).status).toBe(401);
  });

  it('asks the policy, not the table: another team is 403', async () => {
    const res = await call(await sign({ sub: USER, iss: 'https://idp.example.test', aud: 'jira-connect' }), '1a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d');
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('not_team_member');
  });
});

describe('npm run cli -- dev:token', () => {
  const run = promisify(execFile);
  const dataDir = `/tmp/jc-cli-test-${process.pid}`;
  // The CLI is its own process; on PGlite it needs a data directory of its own (not the test's memory engine).
  const env = (extra: Record<string, string> = {}) => ({
    ...process.env, ...(process.env.DATABASE_URL ? {} : { DATA_DIR: dataDir }), NODE_ENV: 'development', ...extra,
  });
  const devToken = (extra?: Record<string, string>, args: string[] = []) =>
    run(process.execPath, [...entryPointArgs('cli/main'), 'dev:token', '--email', 'alice@example.com', '--team', `Acme ${process.pid}`, ...args], { env: env(extra) });

  afterAll(async () => {
    const { rmSync } = await import('node:fs');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates the user, team and membership, prints a token the API accepts, and is idempotent', async () => {
    const first = JSON.parse((await devToken({}, ['--role', 'admin'])).stdout) as { teamId: string; userId: string; role: string; token: string };
    expect(first.role).toBe('admin');
    const again = JSON.parse((await devToken()).stdout) as typeof first;
    expect(again.teamId).toBe(first.teamId);
    expect(again.userId).toBe(first.userId);
    // Signed with the secret the API verifies with (inherited AUTH_JWT_SECRET)...
    expect((await new JwtVerifier(readAuthSettings()).verify(again.token))?.userId).toBe(first.userId);
    // ...and, where the CLI and the API share a database, accepted with the membership it created.
    if (!process.env.DATABASE_URL) return;
    const t = await createTestApp({ imports: [WhoAmIModule] });
    try {
      const res = await t.http.get('/api/whoami').set({ authorization: `Bearer ${again.token}`, 'x-team-id': again.teamId });
      expect(res.body.data).toEqual({ id: again.teamId, role: 'owner' });
    } finally {
      await t.close();
    }
  }, 60_000);

  it('is refused in production and rejects bad arguments', async () => {
    await expect(devToken({ NODE_ENV: 'production' })).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/refused in production/) });
    await expect(run(process.execPath, [...entryPointArgs('cli/main'), 'dev:token', '--email', 'nope', '--team', 'x'], { env: env() }))
      .rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/--email/) });
  }, 60_000);
});
