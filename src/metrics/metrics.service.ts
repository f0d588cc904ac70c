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

  /** 429s from Jira by tenant (site cloudId) and Atlassian's RateLimit-Reason. */
  private readonly jiraRateLimitedTotal = new Counter({
    name: 'jira_api_rate_limited_total',
    help: 'Jira REST answers 429 by tenant and RateLimit-Reason',
    labelNames: ['tenant', 'reason'] as const,
    registers: [this.registry],
  });

  /** Calls the rate-limit governor held back to space them out near a limit. */
  private readonly jiraPacedTotal = new Counter({
    name: 'jira_api_calls_paced_total',
    help: 'Jira REST calls delayed by near-limit pacing, by tenant and reason',
    labelNames: ['tenant', 'reason'] as const,
    registers: [this.registry],
  });

  /** Calls refused at once (503 atlassian_rate_limited) because they could not go out within the budget. */
  private readonly jiraRejectedTotal = new Counter({
    name: 'jira_api_calls_rejected_total',
    help: 'Jira REST calls refused by the rate-limit governor, by tenant and reason',
    labelNames: ['tenant', 'reason'] as const,
    registers: [this.registry],
  });

  /** What Atlassian last reported as remaining (tenant quota, or the app's global pool with tenant=""). */
  private readonly jiraRemaining = new Gauge({
    name: 'jira_api_rate_limit_remaining',
    help: 'Remaining Jira rate-limit budget last reported by Atlassian, by tenant and scope',
    labelNames: ['tenant', 'scope'] as const,
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

  jiraRateLimited(tenant: string, reason: string): void {
    this.jiraRateLimitedTotal.inc({ tenant, reason });
  }

  jiraCallPaced(tenant: string, reason: string): void {
    this.jiraPacedTotal.inc({ tenant, reason });
  }

  jiraCallRejected(tenant: string, reason: string): void {
    this.jiraRejectedTotal.inc({ tenant, reason });
  }

  jiraRateLimitRemaining(tenant: string, scope: 'tenant' | 'app', remaining: number | undefined): void {
    if (remaining !== undefined) this.jiraRemaining.set({ tenant, scope }, remaining);
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
