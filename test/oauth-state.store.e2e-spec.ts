import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helpers/test-app.js';
import { OAuthStateStore, sha256 } from '../src/integrations/jira/connect/oauth-state.store.js';

describe('OAuthStateStore', () => {
  let t: TestApp;
  let store: OAuthStateStore;
  beforeAll(async () => {
    t = await createTestApp();
    store = t.app.get(OAuthStateStore);
  });
  afterAll(async () => {
    await t.close();
  });

  it('stores only hashes, and consumes a state once, in the browser that started it', async () => {
    const m = await t.member('owner');
    const issued = await store.issue({ teamId: m.teamId, userId: m.userId, siteHint: null, returnTo: null });
    const raw = JSON.stringify(await t.dataSource.query('SELECT * FROM jira_oauth_states WHERE team_id = $1', [m.teamId]));
    expect(raw).toContain(sha256(issued.state));
    expect(raw).not.toContain(issued.state);
    expect(raw).not.toContain(issued.cookieValue);
    await expect(store.consume(issued.state, 'another-browser'))
      .resolves.toMatchObject({ ok: false, known: true, final: false, error: { code: 'oauth_binding_mismatch' } });
    await expect(store.consume(issued.state, issued.cookieValue))
      .resolves.toMatchObject({ ok: true, flow: { teamId: m.teamId, userId: m.userId } });
    await expect(store.consume(issued.state, issued.cookieValue))
      .resolves.toMatchObject({ ok: false, known: true, final: true, error: { code: 'oauth_state_replayed' } });
    await expect(store.consume('never-issued', issued.cookieValue))
      .resolves.toMatchObject({ ok: false, known: false, final: true, returnTo: null, error: { code: 'oauth_state_invalid' } });
  });

  it('purges states past their retention and keeps the rest', async () => {
    const m = await t.member('owner');
    const insert = (hash: string, expiresSql: string) => t.dataSource.query(
      `INSERT INTO jira_oauth_states (state_hash, team_id, user_id, binding_hash, expires_at) VALUES ($1, $2, $3, 'b', ${expiresSql})`,
      [hash, m.teamId, m.userId]);
    await insert('purge-old', `now() - interval '2 days'`);
    await insert('purge-recent', `now() - interval '1 hour'`);
    await insert('purge-live', `now() + interval '5 minutes'`);
    expect(await store.purgeExpired()).toBeGreaterThanOrEqual(1);
    const left = (await t.dataSource.query(`SELECT state_hash FROM jira_oauth_states WHERE state_hash LIKE 'purge-%' ORDER BY 1`))
      .map((r: { state_hash: string }) => r.state_hash);
    expect(left).toEqual(['purge-live', 'purge-recent']);
  });
});
