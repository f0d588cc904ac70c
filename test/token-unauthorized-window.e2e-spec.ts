import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeAtlassian } from './fake-atlassian/fake-atlassian.js';
import { chainIntact, seedIntegration } from './helpers/jira-seed.js';
import { createTestApp, type TestApp } from './helpers/test-app.js';

/*
 * A Jira that answers 401 to everything (a missing scope, a site-level block): one rotation for
 * that token, then every later 401 for the token it produced is a scope problem, across calls.
 */
describe('one rotation per token for 401s across calls', () => {
  let fake: FakeAtlassian;
  let t: TestApp;

  beforeAll(async () => {
    fake = await new FakeAtlassian().start();
    t = await createTestApp({ env: { ...fake.env(), JIRA_UNAUTHORIZED_REFRESH_WINDOW_SECONDS: '600' } });
  });
  afterAll(async () => {
    await t?.close();
    await fake?.stop();
  });

  it('Jira answering 401 to everything: 10 sequential verifies make at most one refresh, each answers jira_scope_insufficient', async () => {
    const s = await seedIntegration(t.dataSource, fake, { expiresInMs: 30 * 60_000 });
    const owner = await t.member('owner', s.teamId);
    fake.failNextApiRequests(...Array.from({ length: 30 }, () => ({ status: 401 })));
    const before = fake.refreshCount;
    const codes: unknown[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await t.http.get('/api/integrations/jira/oauth/status?verify=true').set(owner.headers);
      expect(res.status).toBe(200);
      codes.push((res.body as { data: { verification?: { ok: boolean; code?: string } } }).data.verification);
    }
    expect(fake.refreshCount - before).toBeLessThanOrEqual(1);
    expect(codes).toEqual(Array.from({ length: 10 }, () => expect.objectContaining({ ok: false, code: 'jira_scope_insufficient' })));
    expect(await chainIntact(t.dataSource, fake, s.teamId)).toBe(true);
  });
});
