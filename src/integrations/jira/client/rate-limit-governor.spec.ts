import { describe, expect, it } from 'vitest';
import { Clock } from '../../../common/clock.js';
import { MetricsService } from '../../../metrics/metrics.service.js';
import { RateLimitGovernor } from './rate-limit-governor.js';
import { InMemoryRateLimitStateStore } from './rate-limit-state.js';

const settings = { appPointsPerWindow: 1_000_000, tenantMaxShare: 0.5, windowMs: 3_600_000, redisTimeoutMs: 250 };

describe('RateLimitGovernor near the app pool\'s limit', () => {
  it('splits the app\'s pace between tenants: many callers of one tenant do not queue ahead of another tenant', async () => {
    const store = new InMemoryRateLimitStateStore();
    const governor = new RateLimitGovernor(store, settings, new MetricsService(), new Clock());
    const now = Date.now();
    // 10 points left for the next second: one call every 100 ms, app-wide.
    await store.saveSnapshot('app', { remaining: 10, limit: 100, resetAtMs: now + 1000, nearLimit: true, updatedAtMs: now }, 5000);
    const done: Record<string, number[]> = { greedy: [], quiet: [] };
    const go = (tenant: string) => governor.acquire({ tenant, method: 'GET', path: '/rest/api/3/myself' }, now + 10_000)
      .then(() => done[tenant].push(Date.now() - now));
    const greedy = Array.from({ length: 12 }, () => go('greedy'));
    await go('quiet');
    await Promise.all(greedy);
    // A shared queue would have put the quiet call behind 12 greedy slots (≥ 1.2 s).
    expect(done.quiet[0]).toBeLessThan(600);
    expect(Math.max(...done.greedy)).toBeGreaterThan(1000);
    expect(await new MetricsService().render()).toContain('jira_api_calls_paced_total');
  });
});
