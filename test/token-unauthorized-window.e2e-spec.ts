import { describe, expect, it } from 'vitest';
import { fileFixtures } from './helpers/fixtures.js';
import { chainIntact, seedIntegration } from './helpers/jira-seed.js';

/** The file's fake Atlassian and its app: file-scoped fixtures (test/helpers/fixtures.ts). */
const { useApp, useFake } = fileFixtures();

/*
 * A Jira that answers 401 to everything (a missing scope, a site-level block): one rotation for
 * that token, then every later 401 for the token it produced is a scope problem, across calls.
 */
describe('one rotation per token for 401s across calls', () => {
  const fake = useFake();
  const t = useApp({ env: { JIRA_UNAUTHORIZED_REFRESH_WINDOW_SECONDS: '600' } });

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
