import { SetMetadata } from '@nestjs/common';
import type { JiraWebhookSubscription } from './webhook-subscription.js';

export const JIRA_WEBHOOK_HANDLER = 'jira:webhookHandler';

/**
 * Marks a provider method as a Jira webhook handler, in the spirit of `@OnEvent`:
 *
 *     @OnJiraWebhook({ events: ['jira:issue_created'], jqlFilter: 'project = ABC' })
 *     async onIssueCreated(event: JiraWebhookEvent) { ... }
 *
 * The subscription is registered at Jira for every connected team; the method runs once a
 * delivery matching it was stored (at least once: it may run again after a crash or a failure,
 * so make it idempotent, e.g. keyed by `event.deliveryId`). A throw is retried with backoff.
 */
export const OnJiraWebhook = (subscription: JiraWebhookSubscription): MethodDecorator =>
  SetMetadata(JIRA_WEBHOOK_HANDLER, subscription);
