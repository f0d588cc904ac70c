import { Global, Module } from '@nestjs/common';
import { NotificationMetrics } from './notification-metrics.js';
import { NotificationOutbox } from './notification-outbox.js';
import { NotificationWorker } from './notification.worker.js';

/** Signed, durable notifications to the product's backend: the outbox and its worker. */
@Global()
@Module({
  providers: [NotificationOutbox, NotificationWorker, NotificationMetrics],
  exports: [NotificationOutbox],
})
export class NotificationsModule {}
