import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

export type RefreshOutcome =
  | 'success'
  | 'invalid_grant'
  | 'client_rejected'
  | 'transient_failure'
  | 'lock_timeout'
  /** An interrupted refresh (outcome unknown) finished by presenting the same token again. */
  | 'recovered'
  | 'credentials_unreadable';

export type TokenGrantType = 'authorization_code' | 'refresh_token';

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

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
