import { describe, expect, it } from 'vitest';
import { fileFixtures } from './helpers/fixtures.js';
import { connect } from './helpers/oauth-flow.js';
import type { TestMember } from './helpers/test-app.js';

/** The file's fake Atlassian and its app: file-scoped fixtures (test/helpers/fixtures.ts). */
const { useApp, useFake } = fileFixtures();

/** The product's own ids (issue 9): Auth0, Clerk and integer ids through the whole connect flow. */
describe('opaque user and team ids', () => {
  const fake = useFake();
  const t = useApp({ env: { JIRA_RATE_LIMIT_PER_USER: '1000' } });

  async function memberWithIds(userId: string, teamId: string): Promise<TestMember> {
    await t.dataSource.query('INSERT INTO teams (id, name) VALUES ($1, $1) ON CONFLICT DO NOTHING', [teamId]);
    await t.dataSource.query('INSERT INTO users (id) VALUES ($1) ON CONFLICT DO NOTHING', [userId]);
    await t.dataSource.query(`INSERT INTO team_members (team_id, user_id, role) VALUES ($1, $2, 'owner')`, [teamId, userId]);
    const token = await t.tokenFor(userId);
    return { userId, teamId, role: 'owner', token, headers: { authorization: `Bearer ${token}`, 'x-team-id': teamId } };
  }

  it.each([
    ['auth0|5f7c8ec7c33c6c004bbafe82', '42'],
    ['user_2xAbCdEfGh', 'org_2xTeam Name'],
    ['Firebase0UidXyZ', 'a/b:c?d#e'],
  ])('connects and reads the status as user %s in team %s', async (userId, teamId) => {
    const m = await memberWithIds(userId, teamId);
    const { res } = await connect(t, fake, m);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.data.status).toBe('connected');
    const status = await t.http.get('/api/integrations/jira/oauth/status').set(m.headers);
    expect(status.status).toBe(200);
    expect(status.body.data).toMatchObject({ status: 'connected', connectedBy: { userId } });
    const rows = await t.dataSource.query('SELECT team_id, connected_by_user_id FROM jira_integrations WHERE team_id = $1', [teamId]);
    expect(rows).toEqual([{ team_id: teamId, connected_by_user_id: userId }]);
  });

  it('compares opaque ids exactly: another case is another user', async () => {
    const m = await memberWithIds('auth0|CaseSensitive', 'team-case');
    const other = await t.tokenFor('auth0|casesensitive');
    const res = await t.http.get('/api/integrations/jira/oauth/status').set({ authorization: `Bearer ${other}`, 'x-team-id': m.teamId });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('not_team_member');
  });

  it('still accepts a UUID team id in any case (the columns held uuids before)', async () => {
    const m = await t.member('owner');
    const res = await t.http.get('/api/integrations/jira/oauth/status').set({ ...m.headers, 'x-team-id': m.teamId.toUpperCase() });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  });

  it('refuses a team id that is not one with 400 team_header_invalid, and such a subject with 401', async () => {
    const m = await t.member('owner');
    // Ids of only dots would name another path wherever they are substituted into a URL.
    for (const bad of ['x'.repeat(256), 'tab\there', 'caf\u00e9', '.', '..', '...']) {
      const res = await t.http.get('/api/integrations/jira/oauth/status').set({ ...m.headers, 'x-team-id': bad });
      expect(res.status, bad).toBe(400);
      expect(res.body.code).toBe('team_header_invalid');
      expect(res.body.detail).toMatch(/printable.*not only dots/);
    }
    for (const bad of ['x'.repeat(256), 'line\nbreak', ' padded', '.', '..']) {
      const token = await t.tokenFor(bad);
      const res = await t.http.get('/api/integrations/jira/oauth/status').set({ authorization: `Bearer ${token}`, 'x-team-id': m.teamId });
      expect(res.status, JSON.stringify(bad)).toBe(401);
      expect(res.body.code).toBe('invalid_token');
    }
  });
});
