import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export type RefreshOutcome =
  | 'success'
  | 'invalid_grant'
  | 'client_rejected'
  | 'transient_failure'
  | 'lock_timeout'
  /** An interrupted refresh (outcome unknown) finished by presenting the same token again. */
  | 'recovered'
  | 'credentials_unreadable';

export type TokenGrantType = 'authorization_code' | 'refresh_token' | 'client_credentials';

export type RateLimitScopeLabel = 'app' | 'tenant' | 'burst' | 'issue';

/** Atlassian's RateLimit-Reason values (developer.atlassian.com/cloud/jira/platform/rate-limiting), and none given. */
export const KNOWN_RATE_LIMIT_REASONS: ReadonlySet<string> = new Set([
  'jira-quota-tenant-based', 'jira-quota-global-based', 'jira-burst-based', 'jira-per-issue-on-write', 'unspecified',
]);

/** Why the governor delayed or refused a call (rate-limit-governor.ts): a closed set. */
export const GOVERNOR_REASONS: ReadonlySet<string> = new Set([
  'burst_spacing', 'tenant_near_limit', 'app_near_limit', 'tenant_quota_spent', 'fair_share', 'app_pool', 'fair_share_wait', 'app_pool_wait',
  'app_blocked', 'tenant_blocked', 'burst_blocked', 'issue_blocked',
]);

/**
 * The service's Prometheus metrics, on a registry of its own (not prom-client's global one), so
 * several app instances in one process (tests) never collide on metric names.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  /** Refresh operations by final outcome (after retries); one per refresh, not per attempt. */
  private readonly refreshes = new Counter({
    name: 'jira_token_refresh_total',
    help: 'Jira token refreshes by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  /** Every call to Atlassian's token endpoint, by grant type and result. */
  private readonly tokenEndpoint = new Histogram({
    name: 'jira_token_endpoint_duration_seconds',
    help: 'Latency of Atlassian token endpoint calls',
    labelNames: ['grant_type', 'result'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  /** OAuth connect flows (authorize → callback) by outcome, e.g. connected, denied, error. */
  private readonly flows = new Counter({
    name: 'jira_oauth_flows_total',
    help: 'Jira OAuth connect flows by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  /*
   * The governor's metrics carry bounded label sets only (no tenant, team or site: a label per
   * tenant is a series per tenant, without bound). Per-tenant figures are in the team's status
   * (`rateLimit`: remaining, reset, blockedUntil, lastRateLimited).
   */

  /** 429s from Jira by Atlassian's RateLimit-Reason (known values, else `other`) and the scope held back. */
  private readonly jiraRateLimitedTotal = new Counter({
    name: 'jira_api_rate_limited_total',
    help: 'Jira REST answers 429 by RateLimit-Reason and the scope held back',
    labelNames: ['reason', 'scope'] as const,
    registers: [this.registry],
  });

  /** Calls the rate-limit governor held back to space them out near a limit. */
  private readonly jiraPacedTotal = new Counter({
    name: 'jira_api_calls_paced_total',
    help: 'Jira REST calls delayed by the rate-limit governor, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  /** Calls refused at once (503 atlassian_rate_limited) because they could not go out within the budget. */
  private readonly jiraRejectedTotal = new Counter({
    name: 'jira_api_calls_rejected_total',
    help: 'Jira REST calls refused by the rate-limit governor, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  /** What Atlassian last reported as remaining of the app's global pool (shared by all tenants). */
  private readonly jiraAppRemaining = new Gauge({
    name: 'jira_api_app_rate_limit_remaining',
    help: 'Remaining points of the app\'s global Jira rate-limit pool, as Atlassian last reported it',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  refreshCompleted(outcome: RefreshOutcome): void {
    this.refreshes.inc({ outcome });
  }

  /** Starts a token-endpoint timer; call the result with `ok`, `invalid_grant`, `transient`, ... */
  tokenEndpointTimer(grantType: TokenGrantType): (result: string) => void {
    const end = this.tokenEndpoint.startTimer({ grant_type: grantType });
    return (result) => void end({ result });
  }

  oauthFlowCompleted(outcome: string): void {
    this.flows.inc({ outcome });
  }

  /** A 429: `reason` is Atlassian's header (anything unknown counts as `other`), `scope` what the governor holds back. */
  jiraRateLimited(reason: string, scope: RateLimitScopeLabel): void {
    this.jiraRateLimitedTotal.inc({ reason: KNOWN_RATE_LIMIT_REASONS.has(reason) ? reason : 'other', scope });
  }

  /** `reason`: one of the governor's own (PACED_REASONS); anything else counts as `other`. */
  jiraCallPaced(reason: string): void {
    this.jiraPacedTotal.inc({ reason: GOVERNOR_REASONS.has(reason) ? reason : 'other' });
  }

  jiraCallRejected(reason: string): void {
    this.jiraRejectedTotal.inc({ reason: GOVERNOR_REASONS.has(reason) ? reason : 'other' });
  }

  jiraAppRateLimitRemaining(remaining: number | undefined): void {
    if (remaining !== undefined) this.jiraAppRemaining.set(remaining);
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
