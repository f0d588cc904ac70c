import { Injectable } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service.js';

export type DeliveryOutcome = 'accepted' | 'duplicate' | 'unmatched' | 'rejected_signature' | 'invalid_payload';
export type HandlingOutcome = 'handled' | 'retried' | 'dead_lettered';
export type RegistrationOutcome = 'registered' | 'failed' | 'deleted' | 'delete_failed';
export type RenewalOutcome = 'refreshed' | 'reregistered' | 'failed';

/** The webhook metrics, on the app's registry (GET /metrics). */
@Injectable()
export class JiraWebhookMetrics {
  private readonly deliveries: Counter<'outcome'>;
  private readonly handling: Counter<'outcome'>;
  private readonly registrations: Counter<'outcome'>;
  private readonly renewals: Counter<'outcome'>;
  /** Dead letters currently stored, set by the dispatcher after each change. */
  readonly deadLetters: Gauge;

  constructor(metrics: MetricsService) {
    const registers = [metrics.registry];
    this.deliveries = new Counter({ name: 'jira_webhook_deliveries_total', help: 'Jira webhook deliveries received, by outcome',
      labelNames: ['outcome'], registers });
    this.handling = new Counter({ name: 'jira_webhook_events_total', help: 'Stored webhook events by handling outcome',
      labelNames: ['outcome'], registers });
    this.registrations = new Counter({ name: 'jira_webhook_registrations_total', help: 'Jira webhooks registered or deleted, by outcome',
      labelNames: ['outcome'], registers });
    this.renewals = new Counter({ name: 'jira_webhook_renewals_total', help: 'Webhook renewals (refresh at Jira) by outcome',
      labelNames: ['outcome'], registers });
    this.deadLetters = new Gauge({ name: 'jira_webhook_dead_letters', help: 'Webhook events in the dead-letter state', registers });
  }

  delivery(outcome: DeliveryOutcome): void {
    this.deliveries.inc({ outcome });
  }

  handled(outcome: HandlingOutcome): void {
    this.handling.inc({ outcome });
  }

  registration(outcome: RegistrationOutcome, count = 1): void {
    if (count > 0) this.registrations.inc({ outcome }, count);
  }

  renewal(outcome: RenewalOutcome): void {
    this.renewals.inc({ outcome });
  }
}
