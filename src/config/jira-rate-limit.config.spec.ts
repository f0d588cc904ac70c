import { describe, expect, it } from 'vitest';
import { readJiraModuleSettings } from './jira-options.js';

const readJiraRateLimitSettings = (env: NodeJS.ProcessEnv = {}) => readJiraModuleSettings(env).atlassianRateLimit;

describe('Jira rate-limit governor settings', () => {
  it('defaults to a 65,000-point hourly pool, half of it per tenant at most', () => {
    expect(readJiraRateLimitSettings({})).toEqual({ appPointsPerWindow: 65_000, tenantMaxShare: 0.5, windowMs: 3_600_000, burstPerSecond: 10, redisTimeoutMs: 250 });
  });

  it('scales the pool to a shorter window', () => {
    expect(readJiraRateLimitSettings({ JIRA_APP_POINTS_PER_HOUR: '36000', JIRA_APP_QUOTA_WINDOW_SECONDS: '10' }).appPointsPerWindow).toBe(100);
  });

  it('names the variable that is wrong', () => {
    expect(() => readJiraRateLimitSettings({ JIRA_TENANT_MAX_SHARE: '1.5' })).toThrow(/JIRA_TENANT_MAX_SHARE/);
    expect(() => readJiraRateLimitSettings({ JIRA_TENANT_MAX_SHARE: 'half' })).toThrow(/JIRA_TENANT_MAX_SHARE/);
    expect(() => readJiraRateLimitSettings({ JIRA_BURST_PER_SECOND: '0' })).toThrow(/JIRA_BURST_PER_SECOND/);
    expect(readJiraRateLimitSettings({ JIRA_BURST_PER_SECOND: '40' }).burstPerSecond).toBe(40);
    expect(() => readJiraRateLimitSettings({ JIRA_APP_POINTS_PER_HOUR: '0' })).toThrow(/JIRA_APP_POINTS_PER_HOUR/);
    expect(() => readJiraRateLimitSettings({ JIRA_RATE_STATE_REDIS_TIMEOUT_MS: '1' })).toThrow(/JIRA_RATE_STATE_REDIS_TIMEOUT_MS/);
  });
});
