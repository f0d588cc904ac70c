import type { TestApp } from './test-app.js';
import { waitFor } from './webhook-probe.js';

/**
 * Waits (bounded) until `t`'s status shows the team's tenant held back: the 429 the fake sent has
 * been read and its hold stored, the event a test's next calls must come after. The fake's log
 * only says the 429 went out; a fixed sleep after it was a guess.
 */
export async function waitUntilHeldBack(t: TestApp, teamId: string, timeoutMs = 5_000): Promise<void> {
  const m = await t.member('admin', teamId);
  await waitFor(async () => {
    const res = await t.http.get('/api/integrations/jira/oauth/status').set(m.headers);
    return (res.body as { data?: { rateLimit?: { blockedUntil?: string | null } } }).data?.rateLimit?.blockedUntil;
  }, 'the 429 recorded as a hold', timeoutMs);
}
