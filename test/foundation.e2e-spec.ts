import { Body, Controller, Get, Module, Post, UseGuards } from '@nestjs/common';
import { IsString } from 'class-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TeamRoles, CurrentTeam, type TeamContext } from '../src/integrations/jira/teams/team.decorators.js';
import { TeamGuard } from '../src/integrations/jira/teams/team.guard.js';
import { JwtVerifier } from '../src/auth/jwt-verifier.service.js';
import { signHs256Token } from '../src/auth/sign-token.js';
import { readAuthSettings } from '../src/config/auth.config.js';
import { ensureMembership } from '../src/teams/teams.service.js';
import { AdminService } from '../src/admin/admin.service.js';
import { createTestApp, type TestApp } from './helpers/test-app.js';

class EchoDto {
  @IsString()
  name: string;
}

/** A stand-in feature route, to test the guards and pipes every real route gets. */
@Controller('api/probe')
@UseGuards(TeamGuard)
class ProbeController {
  @Get()
  read(@CurrentTeam() team: TeamContext) {
    return { data: team };
  }

  @Post()
  @TeamRoles('owner', 'admin')
  write(@Body() body: EchoDto) {
    return { data: body };
  }
}

@Module({ controllers: [ProbeController] })
class ProbeModule {}

describe('foundation', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ imports: [ProbeModule] });
  });
  afterAll(async () => {
    await t.close();
  });

  it('GET /health answers 200 with the database up, without a token', async () => {
    const res = await t.http.get('/health');
    expect(res.status).toBe(200);
    expect(res.body.details.database.status).toBe('up');
  });

  it('rejects a request without a bearer token with 401 problem JSON', async () => {
    const res = await t.http.get('/api/probe');
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 401, code: 'unauthenticated' });
  });

  it('rejects an invalid, a foreign-signed and an expired token with 401', async () => {
    const m = await t.member('member');
    const forged = m.token.slice(0, -4) + (m.token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    const expired = await t.tokenFor(m.userId, -60);
    for (const token of ['not-a-jwt', forged, expired]) {
      const res = await t.http.get('/api/probe').set({ authorization: `Bearer ${token}`, 'x-team-id': m.teamId });
      expect(res.status, token).toBe(401);
      expect(res.body.code).toBe('invalid_token');
    }
  });

  it('answers 403 to a user who is not a member of the team, and 400 to a bad team header', async () => {
    const a = await t.member('owner');
    const b = await t.member('owner');
    const foreign = await t.http.get('/api/probe').set({ authorization: `Bearer ${a.token}`, 'x-team-id': b.teamId });
    expect(foreign.status).toBe(403);
    expect(foreign.body.code).toBe('not_team_member');
    const unknownTeam = await t.http.get('/api/probe').set({ authorization: `Bearer ${a.token}`, 'x-team-id': '00000000-0000-4000-8000-000000000000' });
    expect(unknownTeam.status).toBe(403);
    expect(unknownTeam.body.code).toBe('not_team_member');
    const missing = await t.http.get('/api/probe').set({ authorization: `Bearer ${a.token}` });
    expect(missing.status).toBe(400);
    expect(missing.body.code).toBe('team_header_missing');
    const malformed = await t.http.get('/api/probe').set({ authorization: `Bearer ${a.token}`, 'x-team-id': 'x'.repeat(256) });
    expect(malformed.status).toBe(400);
    expect(malformed.body.code).toBe('team_header_invalid');
    const own = await t.http.get('/api/probe').set(a.headers);
    expect(own.status).toBe(200);
    expect(own.body.data).toEqual({ id: a.teamId, role: 'owner' });
  });

  it('enforces roles: a member may read but not write', async () => {
    const m = await t.member('member');
    const res = await t.http.post('/api/probe').set(m.headers).send({ name: 'x' });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('insufficient_role');
    const admin = await t.member('admin');
    expect((await t.http.post('/api/probe').set(admin.headers).send({ name: 'x' })).status).toBe(201);
  });

  it('answers malformed JSON with 400 problem JSON, not a 500', async () => {
    const m = await t.member('owner');
    const res = await t.http.post('/api/probe').set(m.headers).set('content-type', 'application/json').send('{"name":');
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe('malformed_json');
  });

  it('rejects unknown and invalid body fields with validation_failed', async () => {
    const m = await t.member('owner');
    const res = await t.http.post('/api/probe').set(m.headers).send({ name: 5, extra: true });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.errors).toEqual(expect.arrayContaining([expect.stringMatching(/extra/), expect.stringMatching(/name/)]));
  });

  it("deleting a team (the admin API's explicit call) deletes its integration and its OAuth states; the directory row alone reaches nothing of the module's", async () => {
    const m = await t.member('owner');
    const other = await t.member('owner');
    for (const team of [m.teamId, other.teamId]) {
      await t.dataSource.query(
        `INSERT INTO jira_integrations (team_id, status, cloud_id) VALUES ($1, 'connected', 'cloud-1')`, [team]);
      await t.dataSource.query(
        `INSERT INTO jira_oauth_states (state_hash, team_id, user_id, binding_hash, expires_at)
         VALUES (md5(random()::text), $1, $2, 'b', now() + interval '10 minutes')`, [team, m.userId]);
    }
    const count = async (table: string, team: string) =>
      Number((await t.dataSource.query(`SELECT count(*)::int AS n FROM ${table} WHERE team_id = $1`, [team]))[0].n);
    // The module's tables have no foreign key to the directory (issue 18): a bare DELETE of the
    // team row leaves them alone ...
    await t.dataSource.query('DELETE FROM teams WHERE id = $1', [other.teamId]);
    expect(await count('jira_integrations', other.teamId)).toBe(1);
    // ... and the explicit call removes them, with the team's memberships and row.
    expect(await t.app.get(AdminService).deleteTeam(m.teamId)).toEqual({ teamId: m.teamId, integrationDeleted: true, teamDeleted: true });
    expect(await count('jira_integrations', m.teamId)).toBe(0);
    expect(await count('jira_oauth_states', m.teamId)).toBe(0);
    expect(await count('team_members', m.teamId)).toBe(0);
    expect(await count('jira_integrations', other.teamId)).toBe(1);
  });

  it('allows one integration per team (unique team_id)', async () => {
    const m = await t.member('owner');
    await t.dataSource.query(`INSERT INTO jira_integrations (team_id, status) VALUES ($1, 'pending_site_selection')`, [m.teamId]);
    await expect(
      t.dataSource.query(`INSERT INTO jira_integrations (team_id, status) VALUES ($1, 'pending_site_selection')`, [m.teamId]),
    ).rejects.toThrow(/jira_integrations_team_id_key/);
  });

  it('dev:token creates what is missing, is idempotent, and its token is accepted', async () => {
    const email = `Dev-${Date.now()}@Example.com`;
    const first = await t.dataSource.transaction((m) => ensureMembership(m, email, `Acme ${email}`, 'owner'));
    const again = await t.dataSource.transaction((m) => ensureMembership(m, email.toLowerCase(), `Acme ${email}`, 'admin'));
    expect(again.userId).toBe(first.userId);
    expect(again.teamId).toBe(first.teamId);
    const token = await signHs256Token(readAuthSettings(), first.userId, 300);
    expect((await t.app.get(JwtVerifier).verify(token))?.userId).toBe(first.userId);
    const res = await t.http.get('/api/probe').set({ authorization: `Bearer ${token}`, 'x-team-id': first.teamId });
    expect(res.body.data).toEqual({ id: first.teamId, role: 'admin' });
  });
});

describe('logging', () => {
  it('logs requests as JSON without query strings, bearer tokens or cookies', async () => {
    const t = await createTestApp({ imports: [ProbeModule], env: { LOG_LEVEL: 'trace' } });
    try {
      const m = await t.member('owner');
      await t.http
        .get('/api/probe?code=secret-code-123&state=secret-state-456')
        .set(m.headers)
        .set('cookie', 'jira_oauth_binding=secret-cookie-789');
      // pino-http writes the request line when the response finishes, just after the client has it.
      const requestLog = await t.logs.waitFor((l) => (l.req as { path?: string } | undefined)?.path === '/api/probe');
      expect(requestLog, t.logs.text).toBeDefined();
      expect(t.logs.leaked([m.token, 'secret-code-123', 'secret-state-456', 'secret-cookie-789'])).toEqual([]);
    } finally {
      await t.close();
    }
  });
});

describe('CORS for the SPA', () => {
  it('lets allow-listed origins call with credentials (defaulting to OAUTH_RETURN_ORIGINS), and no one else', async () => {
    const t = await createTestApp({ imports: [ProbeModule], env: { OAUTH_RETURN_ORIGINS: 'https://app.example.test', CORS_ORIGINS: undefined } });
    try {
      const preflight = await t.http.options('/api/probe')
        .set('origin', 'https://app.example.test')
        .set('access-control-request-method', 'POST')
        .set('access-control-request-headers', 'authorization,content-type,x-team-id');
      expect(preflight.status).toBe(204);
      expect(preflight.headers['access-control-allow-origin']).toBe('https://app.example.test');
      expect(preflight.headers['access-control-allow-credentials']).toBe('true');
      expect(preflight.headers['access-control-allow-headers']).toMatch(/x-team-id/);
      const foreign = await t.http.options('/api/probe').set('origin', 'https://evil.example.test').set('access-control-request-method', 'POST');
      expect(foreign.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await t.close();
    }
  });
});
