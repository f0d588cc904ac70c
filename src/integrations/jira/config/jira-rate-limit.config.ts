import { registerAs } from '@nestjs/config';
import { IsInt, IsNumber, Max, Min } from 'class-validator';
import { validateEnv } from './validate-env.js';
import { Describe } from './describe.js';

/** The governor in front of every Jira REST call (src/integrations/jira/client/rate-limit-governor.ts). */
export class JiraRateLimitEnv {
  /** The app's global points pool (Atlassian staff cite about 65,000 points an hour for Tier 1 apps). */
  @IsInt()
  @Min(1)
  @Max(100_000_000)
  @Describe('the app\'s global points pool (the figure Atlassian staff cite for the default tier; set your app\'s tier)')
  JIRA_APP_POINTS_PER_HOUR: number = 65_000;

  /**
   * Largest share of the pool one tenant (Jira site) may take while other tenants contend for it
   * (asked within the window, at most the last minute); alone, a tenant may use all of it.
   */
  @IsNumber()
  @Min(0.01)
  @Max(1)
  @Describe('largest share of the pool one tenant (Jira site) may take while others contend for it; alone, all of it')
  JIRA_TENANT_MAX_SHARE: number = 0.5;

  /** Accounting window of the pool; Atlassian's is an hour. Shorten only to test against a fake. */
  @IsInt()
  @Min(1)
  @Max(86_400)
  @Describe('the pool\'s accounting window (Atlassian\'s is an hour); shorten only to test against a fake')
  JIRA_APP_QUOTA_WINDOW_SECONDS: number = 3600;

  /**
   * Per-second limit of one endpoint (tenant + endpoint + method) assumed until Atlassian's
   * X-RateLimit-Limit says otherwise: paces the first concurrent wave. Atlassian does not publish it.
   */
  @IsInt()
  @Min(1)
  @Max(10_000)
  @Describe('per-second limit of one endpoint (tenant + endpoint + method) assumed until Atlassian\'s `X-RateLimit-Limit` reports it; paces the first concurrent wave')
  JIRA_BURST_PER_SECOND: number = 10;

  /** Bound of every Redis command of the shared rate-limit state; past it the instance falls back to memory. */
  @IsInt()
  @Min(10)
  @Max(10_000)
  @Describe('bound of each Redis command of the governor\'s shared state; past it the instance uses its own memory')
  JIRA_RATE_STATE_REDIS_TIMEOUT_MS: number = 250;
}

export interface JiraRateLimitSettings {
  /** Points the governor lets out per window, all tenants together (1 point per call is assumed). */
  appPointsPerWindow: number;
  tenantMaxShare: number;
  windowMs: number;
  /** Per-second limit per endpoint until learned from headers. */
  burstPerSecond: number;
  redisTimeoutMs: number;
}

export function readJiraRateLimitSettings(env: NodeJS.ProcessEnv = process.env): JiraRateLimitSettings {
  const parsed = validateEnv(JiraRateLimitEnv, env);
  const windowMs = parsed.JIRA_APP_QUOTA_WINDOW_SECONDS * 1000;
  return {
    appPointsPerWindow: Math.max(1, Math.floor((parsed.JIRA_APP_POINTS_PER_HOUR * windowMs) / 3_600_000)),
    tenantMaxShare: parsed.JIRA_TENANT_MAX_SHARE,
    windowMs,
    burstPerSecond: parsed.JIRA_BURST_PER_SECOND,
    redisTimeoutMs: parsed.JIRA_RATE_STATE_REDIS_TIMEOUT_MS,
  };
}

export const jiraRateLimitConfig = registerAs('jiraRateLimit', () => readJiraRateLimitSettings());
