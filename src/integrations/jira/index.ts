/*
 * What a host NestJS application imports to embed the Jira integration
 * (docs/embedding.md).
 */
export { JiraIntegrationModule, jiraConnectEntities } from './jira-integration.module.js';
export type { JiraIntegrationModuleAsyncOptions, JiraIntegrationModuleForRootOptions } from './jira-integration.module.js';
export { DEFAULT_ROUTE_PREFIX } from './jira-integration.options.js';
export type {
  AtlassianAppOptions,
  EncryptionKey,
  JiraIntegrationModuleOptions,
  JiraProxyOptions,
  JiraRateLimitOptions,
  JiraTokenOptions,
  JiraLifecycleOptions,
} from './jira-integration.options.js';
export { isJiraPublicRoute } from './module/request-user.guard.js';
export { JiraTokenManager, type JiraCredentials } from './tokens/jira-token-manager.service.js';
export { JiraClient, TeamJiraClient, type JiraRequestOptions, type JiraStreamOptions } from './client/jira-client.js';
export { JiraProxyService, type ProxyCaller } from './proxy/jira-proxy.service.js';
export { JiraConnectionService } from './connect/jira-connection.service.js';
export { JiraConnectionEvent, type JiraConnectionEventName, type JiraConnectionEventPayload } from './jira.events.js';
export { JiraError, JiraErrorCode } from './jira.errors.js';
/** Problem JSON for the host's routes too (JiraError is already an HttpException with its status and body). */
export { ProblemDetailsFilter, PROBLEM_CONTENT_TYPE, toProblem } from './common/problem-details.filter.js';
export { AppError, CommonErrorCode, type ProblemDocument } from './common/app-error.js';
/** For the host's own Swagger document: `#/components/schemas/ProblemCode` with every code its routes (ours included) answer. */
export { addProblemCodeCatalogue } from './common/openapi/problem-catalogue.js';
export { OnJiraWebhook } from './webhooks/on-jira-webhook.decorator.js';
export type { JiraWebhookEvent, JiraWebhookEventName, JiraWebhookSubscription } from './webhooks/webhook-subscription.js';
export { TeamAccessPolicy } from './teams/team-access.policy.js';
export { TEAM_ROLES, type TeamRole } from './teams/team-role.js';
export { MetricsService } from './metrics/metrics.service.js';
/** The module's tables (`jira_*` only), for the host's DataSource `migrations` (run them with the host's own). */
export { jiraMigrations as jiraConnectMigrations } from './migrations/index.js';
/** The module's entities (one a table), for a host that reads them in its own queries or reports. */
export { JiraIntegration, JiraJob, JiraNotification, JiraOAuthState, JiraWebhookDelivery, JiraWebhookRegistration } from './entities/index.js';
/** For the host's receiver of our signed notifications (docs/notifications.md): check a request's signature and read its body. */
export { NOTIFICATION_HEADERS, verifyNotification } from './notifications/notification-signature.js';
export { NotificationType, type NotificationBody } from './notifications/notification-types.js';
