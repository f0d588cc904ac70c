import { HttpModule } from '@nestjs/axios';
import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AtlassianGateway } from './atlassian/atlassian.gateway.js';
import { JiraIntegration } from './entities/jira-integration.entity.js';
import { JiraOAuthState } from './entities/jira-oauth-state.entity.js';
import { JiraClient } from './client/jira-client.js';
import { JiraConnectionService } from './connect/jira-connection.service.js';
import { JiraKeepAliveJob } from './tokens/jira-keepalive.job.js';
import { JiraOAuthController } from './connect/jira-oauth.controller.js';
import { JiraOAuthService } from './connect/jira-oauth.service.js';
import { JiraTokenManager } from './tokens/jira-token-manager.service.js';
import { JiraRefreshRecoveryJob } from './tokens/jira-refresh-recovery.job.js';
import { StoredKeyCheck } from './tokens/stored-key-check.js';
import { OAuthStateStore } from './connect/oauth-state.store.js';
import { RateLimitGovernor } from './client/rate-limit-governor.js';
import { rateLimitStateStoreProvider } from './client/rate-limit-state.js';
import { JiraWebhookController } from './webhooks/jira-webhook.controller.js';
import { JiraWebhookDispatcher } from './webhooks/jira-webhook.dispatcher.js';
import { JiraWebhookInbox } from './webhooks/jira-webhook-inbox.service.js';
import { JiraWebhookLifecycle } from './webhooks/jira-webhook-lifecycle.service.js';
import { JiraWebhookMetrics } from './webhooks/jira-webhook.metrics.js';
import { JiraWebhookRegistry } from './webhooks/jira-webhook.registry.js';
import { JiraWebhookRenewalJob } from './webhooks/jira-webhook-renewal.job.js';

/** Managed webhooks: registration lifecycle, receiver, inbox and dispatch (webhooks/). */
const WEBHOOK_PROVIDERS = [JiraWebhookRegistry, JiraWebhookMetrics, JiraWebhookLifecycle, JiraWebhookRenewalJob, JiraWebhookInbox, JiraWebhookDispatcher];

/** The Jira Cloud integration: OAuth connect flow, token management and the Jira client. */
@Module({
  imports: [HttpModule, DiscoveryModule, TypeOrmModule.forFeature([JiraIntegration, JiraOAuthState])],
  controllers: [JiraOAuthController, JiraWebhookController],
  providers: [AtlassianGateway, JiraTokenManager, JiraClient, JiraKeepAliveJob, JiraOAuthService, JiraConnectionService, OAuthStateStore,
    JiraRefreshRecoveryJob, StoredKeyCheck, RateLimitGovernor, rateLimitStateStoreProvider, ...WEBHOOK_PROVIDERS],
  exports: [AtlassianGateway, JiraTokenManager, JiraClient, JiraWebhookDispatcher, JiraWebhookLifecycle],
})
export class JiraIntegrationModule {}
