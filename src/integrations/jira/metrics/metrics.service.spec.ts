import { describe, expect, it } from 'vitest';
import { Clock } from '../common/clock.js';
import { RateLimitGovernor } from '../client/rate-limit-governor.js';
import { InMemoryRateLimitStateStore } from '../client/rate-limit-state.js';
import { JiraWebhookMetrics } from '../webhooks/jira-webhook.metrics.js';
import { NotificationMetrics } from '../notifications/notification-metrics.js';
import { GOVERNOR_REASONS, KNOWN_RATE_LIMIT_REASONS, MetricsService } from './metrics.service.js';

/** Label names that would make one series per tenant, team, site or person: an unbounded set. */
const PER_TENANT = /tenant|team|cloud|site|user|account|issue|path/i;
const CLOUD_ID = 'a436116f-02ce-4520-8fbb-7301462a1674';

/** Every metric on the app's registry, after the governor has seen a 429, paced and refused calls for one site. */
async function exercised(): Promise<MetricsService> {
  const metrics = new MetricsService();
  new JiraWebhookMetrics(metrics).delivery('accepted');
  new NotificationMetrics(metrics).attempted('connected', 'delivered', 0.1);
  const settings = { appPointsPerWindow: 1_000_000, tenantMaxShare: 0.5, windowMs: 3_600_000, burstPerSecond: 10, redisTimeoutMs: 250 };
  const governor = new RateLimitGovernor(new InMemoryRateLimitStateStore(), { atlassianRateLimit: settings }, metrics, new Clock());
  const call = { tenant: CLOUD_ID, method: 'PUT', path: '/rest/api/3/issue/AB-1' };
  const now = Date.now();
  await governor.acquire(call, now + 5000);
  await governor.observe(call, {
    status: 429,
    headers: {
      'retry-after': '30', 'ratelimit-reason': `made-up-reason-${CLOUD_ID}`,
      'beta-ratelimit-policy': '"tenant-app-quota";q=100;w=3600, "global-app-quota";q=1000;w=3600',
      'beta-ratelimit': '"tenant-app-quota";r=1;t=30, "global-app-quota";r=900;t=30',
    },
  });
  // Blocked for 30 s: refused at once with a 1 s budget.
  await expect(governor.acquire(call, Date.now() + 1000)).rejects.toMatchObject({ code: 'atlassian_rate_limited' });
  return metrics;
}

describe('metric labels', () => {
  it('no metric has a per-tenant label, and no label value names a site', async () => {
    const metrics = await exercised();
    const all = await metrics.registry.getMetricsAsJSON();
    const governed = all.filter((m) => m.name.startsWith('jira_api_'));
    expect(governed.map((m) => m.name).sort()).toEqual([
      'jira_api_app_rate_limit_remaining', 'jira_api_calls_paced_total', 'jira_api_calls_rejected_total', 'jira_api_rate_limited_total',
    ]);
    for (const m of all) {
      for (const v of m.values) {
        for (const [name, value] of Object.entries(v.labels)) {
          expect(name, `${m.name}{${name}}`).not.toMatch(PER_TENANT);
          expect(String(value), `${m.name}{${name}}`).not.toContain(CLOUD_ID);
        }
      }
    }
    const text = await metrics.render();
    expect(text).not.toContain(CLOUD_ID);
    // The 429 was counted with an unknown reason folded into `other`, and the refusal by its reason.
    expect(text).toMatch(/jira_api_rate_limited_total\{reason="other",scope="tenant"\} 1/);
    expect(text).toMatch(/jira_api_calls_rejected_total\{reason="tenant_blocked"\} 1/);
    expect(text).toMatch(/jira_api_app_rate_limit_remaining 900/);
  });

  it('the governor\'s reasons are closed sets: anything else is counted as `other`', async () => {
    const metrics = new MetricsService();
    metrics.jiraCallPaced(`pace:${CLOUD_ID}`);
    metrics.jiraCallRejected('burst_spacing');
    metrics.jiraRateLimited('jira-burst-based', 'burst');
    const text = await metrics.render();
    expect(text).toMatch(/jira_api_calls_paced_total\{reason="other"\} 1/);
    expect(text).toMatch(/jira_api_calls_rejected_total\{reason="burst_spacing"\} 1/);
    expect(text).toMatch(/jira_api_rate_limited_total\{reason="jira-burst-based",scope="burst"\} 1/);
    expect(GOVERNOR_REASONS.size).toBeLessThan(20);
    expect(KNOWN_RATE_LIMIT_REASONS.size).toBeLessThan(10);
  });
});
