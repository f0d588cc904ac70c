import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Clock } from '../src/integrations/jira/common/clock.js';
import type { TeamRole } from '../src/integrations/jira/teams/team-role.js';
import { fileFixtures } from './helpers/fixtures.js';
import { JwksIssuer } from './helpers/jwks-issuer.js';
import { MembershipService } from './helpers/membership-service.js';
import { connect } from './helpers/oauth-flow.js';
import type { TestMember } from './helpers/test-app.js';
import { TestClock } from './helpers/webhook-probe.js';

const STATUS = '/api/integrations/jira/oauth/status';
const AUTHORIZE = '/api/integrations/jira/oauth/authorize';
const ROLE_MAP = 'org:admin=admin,org:member=member,org:owner=owner';

/** A caller as the connect-flow helpers expect one (no local rows behind it). */
const caller = (userId: string, teamId: string, token: string, role: TeamRole = 'owner'): TestMember =>
  ({ userId, teamId, role, token, headers: { authorization: `Bearer ${token}`, 'x-team-id': teamId } });

/** One fake Atlassian for the three policies; each policy's describe boots its own app (fixtures.ts). */
const { useApp, useFake } = fileFixtures();

describe('TEAM_ACCESS_POLICY', () => {
  const fake = useFake();
  const idp = new JwksIssuer();
  const product = new MembershipService();
  const base = () => ({ JIRA_RATE_LIMIT_PER_USER: '1000' });

  beforeAll(async () => {
    await idp.start();
    await product.start();
  });
  afterAll(async () => {
    await product.stop();
    await idp.stop();
  });

  describe('table (default)', () => {
    const t = useApp({ env: { ...base(), TEAM_ACCESS_POLICY: undefined } });

    it('reads team_members: member reads, admin connects, others are refused', async () => {
      const owner = await t.member('owner');
      const member = await t.member('member', owner.teamId);
      const stranger = await t.member('owner');
      expect((await t.http.get(STATUS).set(member.headers)).status).toBe(200);
      expect((await t.http.post(AUTHORIZE).set(member.headers).send({})).body.code).toBe('insufficient_role');
      expect((await t.http.post(AUTHORIZE).set(owner.headers).send({})).status).toBe(200);
      expect((await t.http.get(STATUS).set({ ...stranger.headers, 'x-team-id': owner.teamId })).body.code).toBe('not_team_member');
    });
  });

  describe('claims', () => {
    const CLAIM = 'https://product.example/teams';
    const t = useApp(() => ({ env: { ...base(), ...idp.env(), TEAM_ACCESS_POLICY: 'claims', AUTH_TEAMS_CLAIM: CLAIM, AUTH_ROLE_MAP: ROLE_MAP } }));

    const as = async (teamId: string, claims: Record<string, unknown>, sub = 'user_2xClaims') =>
      ({ authorization: `Bearer ${await idp.sign(sub, claims)}`, 'x-team-id': teamId });

    it('object shape: the mapped role, with no local rows', async () => {
      const headers = await as('org_obj', { [CLAIM]: { org_obj: 'org:member', org_other: 'org:admin' } });
      const res = await t.http.get(STATUS).set(headers);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect((await t.http.post(AUTHORIZE).set(headers).send({})).body.code).toBe('insufficient_role');
      expect((await t.dataSource.query(`SELECT count(*)::int AS n FROM team_members WHERE team_id = 'org_obj'`))[0].n).toBe(0);
    });

    it('array shape, and our own role names without mapping', async () => {
      const admin = await as('org_arr', { [CLAIM]: [{ id: 'org_x', role: 'org:member' }, { id: 'org_arr', role: 'org:admin' }] });
      expect((await t.http.post(AUTHORIZE).set(admin).send({})).status).toBe(200);
      const owner = await as('42', { [CLAIM]: [{ id: '42', role: 'owner' }] });
      expect((await t.http.post(AUTHORIZE).set(owner).send({})).status).toBe(200);
    });

    it('a token claiming another team, an unmapped role, or no claim at all gets 403', async () => {
      for (const claims of [
        { [CLAIM]: { org_mine: 'org:admin' } },
        { [CLAIM]: [{ id: 'org_mine', role: 'org:admin' }] },
        { [CLAIM]: { org_target: 'org:billing' } },
        { [CLAIM]: [{ id: 'org_target' }] },
        { [CLAIM]: 'org_target' },
        { teams: { org_target: 'admin' } }, // the default claim name, not the configured one
        {},
      ]) {
        const res = await t.http.get(STATUS).set(await as('org_target', claims));
        expect(res.status, JSON.stringify(claims)).toBe(403);
        expect(res.body.code).toBe('not_team_member');
      }
    });

    it('connects end to end with non-UUID ids; the callback (no token) relies on the role checked at authorize', async () => {
      const userId = 'auth0|claims-e2e';
      const teamId = 'org_claims E2E';
      const token = await idp.sign(userId, { [CLAIM]: { [teamId]: 'org:admin' } });
      const { res } = await connect(t, fake, caller(userId, teamId, token));
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.data.status).toBe('connected');
      const status = await t.http.get(STATUS).set({ authorization: `Bearer ${token}`, 'x-team-id': teamId });
      // Membership lives in the token: the service cannot see the connector leave, and says so.
      expect(status.body.data).toMatchObject({ status: 'connected', connectedBy: { userId, isMember: null, leftAt: null } });
    });
  });

  describe('http', () => {
    const TOKEN = 'membership-token-0123456789';
    const clock = new TestClock(); // the cache's expiry is moved past, not waited for
    const t = useApp(() => ({
      configure: (b) => b.overrideProvider(Clock).useValue(clock),
      env: {
        ...base(), TEAM_ACCESS_POLICY: 'http', TEAM_ACCESS_URL: product.urlTemplate, TEAM_ACCESS_TOKEN: TOKEN,
        TEAM_ACCESS_TIMEOUT_MS: '500', TEAM_ACCESS_CACHE_SECONDS: '2', AUTH_ROLE_MAP: ROLE_MAP,
      },
    }));

    const as = async (teamId: string, userId: string) => ({ authorization: `Bearer ${await t.tokenFor(userId)}`, 'x-team-id': teamId });

    it('member: the product\'s role (mapped), asked with the ids URL-encoded and the configured token', async () => {
      const teamId = 'org/with space?';
      const userId = 'auth0|http-member';
      product.set(teamId, userId, { role: 'org:admin' });
      const headers = await as(teamId, userId);
      expect((await t.http.post(AUTHORIZE).set(headers).send({})).status).toBe(200);
      const seen = product.requests.find((r) => r.userId === userId)!;
      expect(seen.teamId).toBe(teamId);
      expect(seen.headers.authorization).toBe(`Bearer ${TOKEN}`);
    });

    it('ids of only dots are refused at the edge (400), so the product is never asked another URL', async () => {
      product.set('..', 'u_dots', { role: 'org:admin' });
      const before = product.requests.length;
      for (const teamId of ['.', '..']) {
        const res = await t.http.get(STATUS).set(await as(teamId, 'u_dots'));
        expect(res.status, teamId).toBe(400);
        expect(res.body.code).toBe('team_header_invalid');
      }
      const asUser = await t.http.get(STATUS).set({ authorization: `Bearer ${await t.tokenFor('..')}`, 'x-team-id': 'org_h' });
      expect(asUser.status).toBe(401);
      expect(product.requests.length).toBe(before);
    });

    it('non-member: 404 or 403 from the product, or no role, is 403 not_team_member', async () => {
      product.set('org_h', 'u_404', 404);
      product.set('org_h', 'u_403', 403);
      product.set('org_h', 'u_null', { role: null });
      product.set('org_h', 'u_odd', { role: 'superuser' });
      for (const userId of ['u_404', 'u_403', 'u_null', 'u_odd']) {
        const res = await t.http.get(STATUS).set(await as('org_h', userId));
        expect(res.status, userId).toBe(403);
        expect(res.body.code).toBe('not_team_member');
      }
    });

    it('product failing, slow, garbled or down: 503 team_access_unavailable, never access', async () => {
      for (const [userId, answer] of [['u_500', 500], ['u_hang', 'hang'], ['u_garbage', 'garbage']] as const) {
        product.set('org_down', userId, answer);
        const res = await t.http.get(STATUS).set(await as('org_down', userId));
        expect(res.status, userId).toBe(503);
        expect(res.body.code).toBe('team_access_unavailable');
        expect(res.headers['retry-after']).toBeDefined();
      }
      // Failures are not cached: once the product answers, access works at once.
      product.set('org_down', 'u_500', { role: 'member' });
      expect((await t.http.get(STATUS).set(await as('org_down', 'u_500'))).status).toBe(200);

      product.set('org_down', 'u_off', { role: 'owner' });
      await product.stop();
      try {
        const res = await t.http.post(AUTHORIZE).set(await as('org_down', 'u_off')).send({});
        expect(res.status).toBe(503);
        expect(res.body.code).toBe('team_access_unavailable');
      } finally {
        await product.start();
      }
    });

    it('caches answers for TEAM_ACCESS_CACHE_SECONDS, members and non-members alike', async () => {
      product.set('org_cache', 'u_member', { role: 'member' });
      const member = await as('org_cache', 'u_member');
      const stranger = await as('org_cache', 'u_stranger');
      for (let i = 0; i < 3; i++) {
        expect((await t.http.get(STATUS).set(member)).status).toBe(200);
        expect((await t.http.get(STATUS).set(stranger)).status).toBe(403);
      }
      expect(product.count('org_cache', 'u_member')).toBe(1);
      expect(product.count('org_cache', 'u_stranger')).toBe(1);
      // A role change shows after the cache expires.
      product.set('org_cache', 'u_member', 404);
      expect((await t.http.get(STATUS).set(member)).status).toBe(200);
      clock.offsetMs += 2_100; // past TEAM_ACCESS_CACHE_SECONDS=2
      expect((await t.http.get(STATUS).set(member)).status).toBe(403);
      expect(product.count('org_cache', 'u_member')).toBe(2);

      // Concurrent requests of one user share one question.
      product.set('org_cache', 'u_burst', { role: 'member' });
      const burst = await as('org_cache', 'u_burst');
      const answers = await Promise.all([0, 1, 2, 3, 4].map(() => t.http.get(STATUS).set(burst)));
      expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
      expect(product.count('org_cache', 'u_burst')).toBe(1);
    });

    it('connects end to end; the callback asks the product again', async () => {
      const userId = 'user_2xHttpE2E';
      const teamId = '7';
      product.set(teamId, userId, { role: 'org:owner' });
      const { res } = await connect(t, fake, caller(userId, teamId, await t.tokenFor(userId)));
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.data.status).toBe('connected');
    });
  });
});
