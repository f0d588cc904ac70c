import { Global, Module } from '@nestjs/common';
import { NotificationMetrics } from '../integrations/jira/notifications/notification-metrics.js';
import { NotificationOutbox } from '../integrations/jira/notifications/notification-outbox.js';
import { NotificationWorker } from '../integrations/jira/notifications/notification.worker.js';

/** Signed, durable notifications to the product's backend: the outbox and its worker. */
@Global()
@Module({
  providers: [NotificationOutbox, NotificationWorker, NotificationMetrics],
  exports: [NotificationOutbox],
})
export class NotificationsModule {}
