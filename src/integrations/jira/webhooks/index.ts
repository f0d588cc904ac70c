/** What a product uses from managed Jira webhooks (docs/webhooks.md). */
export { OnJiraWebhook } from './on-jira-webhook.decorator.js';
export type { JiraWebhookEvent, JiraWebhookSubscription, JiraWebhookEventName } from './webhook-subscription.js';
export { JIRA_WEBHOOK_OPTIONS, type JiraWebhookOptions } from './jira-webhook.registry.js';
export { JiraWebhookDispatcher } from './jira-webhook.dispatcher.js';
export type { DeadLetter } from './dead-letters.js';
