import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service.js';

export type DeliveryResult = 'delivered' | 'retry' | 'failed';

/** Delivery metrics, registered on the service's registry (GET /metrics). */
@Injectable()
export class NotificationMetrics {
  private readonly deliveries: Counter<'type' | 'result'>;
  private readonly duration: Histogram<'result'>;
  private readonly oldestPending: Gauge;

  constructor(metrics: MetricsService) {
    const registers = [metrics.registry];
    this.deliveries = new Counter({
      name: 'notification_deliveries_total',
      help: 'Notification delivery attempts to NOTIFY_WEBHOOK_URL by type and result (delivered, retry, failed = gave up)',
      labelNames: ['type', 'result'] as const,
      registers,
    });
    this.duration = new Histogram({
      name: 'notification_delivery_duration_seconds',
      help: 'Duration of notification POSTs',
      labelNames: ['result'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.oldestPending = new Gauge({
      name: 'notification_outbox_oldest_pending_seconds',
      help: 'Age of the oldest notification not yet delivered (0 when none)',
      registers,
    });
  }

  attempted(type: string, result: DeliveryResult, seconds: number): void {
    this.deliveries.inc({ type, result });
    this.duration.observe({ result: result === 'delivered' ? 'ok' : 'error' }, seconds);
  }

  backlog(oldestSeconds: number): void {
    this.oldestPending.set(oldestSeconds);
  }
}
