import { IsInt, IsNumber, Max, Min } from 'class-validator';
import { Env } from './option-schema.js';
import { Describe } from './describe.js';

/** `atlassianRateLimit`: the governor in front of every Jira REST call (src/integrations/jira/client/rate-limit-governor.ts). */
export class AtlassianRateLimitOptions {
  /** The app's global points pool (Atlassian staff cite about 65,000 points an hour for Tier 1 apps). */
  @Env('JIRA_APP_POINTS_PER_HOUR')
  @IsInt()
  @Min(1)
  @Max(100_000_000)
  @Describe('the app\'s global points pool (the figure Atlassian staff cite for the default tier; set your app\'s tier)')
  appPointsPerHour: number = 65_000;

  /**
   * Largest share of the pool one tenant (Jira site) may take while other tenants contend for it
   * (asked within the window, at most the last minute); alone, a tenant may use all of it.
   */
  @Env('JIRA_TENANT_MAX_SHARE')
  @IsNumber()
  @Min(0.01)
  @Max(1)
  @Describe('largest share of the pool one tenant (Jira site) may take while others contend for it; alone, all of it')
  tenantMaxShare: number = 0.5;

  /** Accounting window of the pool; Atlassian's is an hour. Shorten only to test against a fake. */
  @Env('JIRA_APP_QUOTA_WINDOW_SECONDS')
  @IsInt()
  @Min(1)
  @Max(86_400)
  @Describe('the pool\'s accounting window (Atlassian\'s is an hour); shorten only to test against a fake')
  quotaWindowSeconds: number = 3600;

  /**
   * Per-second limit of one endpoint (tenant + endpoint + method) assumed until Atlassian's
   * X-RateLimit-Limit says otherwise: paces the first concurrent wave. Atlassian does not publish it.
   */
  @Env('JIRA_BURST_PER_SECOND')
  @IsInt()
  @Min(1)
  @Max(10_000)
  @Describe('per-second limit of one endpoint (tenant + endpoint + method) assumed until Atlassian\'s `X-RateLimit-Limit` reports it; paces the first concurrent wave')
  burstPerSecond: number = 10;

  /** Bound of every Redis command of the shared rate-limit state; past it the instance falls back to memory. */
  @Env('JIRA_RATE_STATE_REDIS_TIMEOUT_MS')
  @IsInt()
  @Min(10)
  @Max(10_000)
  @Describe('bound of each Redis command of the governor\'s shared state; past it the instance uses its own memory')
  redisTimeoutMs: number = 250;
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

export function resolveJiraRateLimitSettings(o: AtlassianRateLimitOptions): JiraRateLimitSettings {
  const windowMs = o.quotaWindowSeconds * 1000;
  return {
    appPointsPerWindow: Math.max(1, Math.floor((o.appPointsPerHour * windowMs) / 3_600_000)),
    tenantMaxShare: o.tenantMaxShare,
    windowMs,
    burstPerSecond: o.burstPerSecond,
    redisTimeoutMs: o.redisTimeoutMs,
  };
}
