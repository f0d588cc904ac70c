import { JiraIntegration } from './jira-integration.entity.js';
import { JiraNotification } from './jira-notification.entity.js';
import { JiraOAuthState } from './jira-oauth-state.entity.js';
import { JiraWebhookDelivery } from './jira-webhook-delivery.entity.js';
import { JiraWebhookRegistration } from './jira-webhook-registration.entity.js';
import { JiraJob } from '../jobs/jira-job.entity.js';

export { JiraIntegration, JiraJob, JiraNotification, JiraOAuthState, JiraWebhookDelivery, JiraWebhookRegistration };

/**
 * The module's TypeORM entities, one a table it owns; a host lists them in its DataSource (or
 * uses autoLoadEntities). They are the schema's truth: test/entity-schema.e2e-spec.ts fails when
 * they and the migrations disagree.
 */
export const jiraConnectEntities = [JiraIntegration, JiraOAuthState, JiraWebhookRegistration, JiraWebhookDelivery, JiraNotification, JiraJob];
