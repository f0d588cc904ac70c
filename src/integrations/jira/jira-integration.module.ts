import { HttpModule } from '@nestjs/axios';
import { Module } from '@nestjs/common';
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

/** The Jira Cloud integration: OAuth connect flow, token management and the Jira client. */
@Module({
  imports: [HttpModule, TypeOrmModule.forFeature([JiraIntegration, JiraOAuthState])],
  controllers: [JiraOAuthController],
  providers: [AtlassianGateway, JiraTokenManager, JiraClient, JiraKeepAliveJob, JiraOAuthService, JiraConnectionService, OAuthStateStore,
    JiraRefreshRecoveryJob, StoredKeyCheck, RateLimitGovernor, rateLimitStateStoreProvider],
  exports: [AtlassianGateway, JiraTokenManager, JiraClient],
})
export class JiraIntegrationModule {}
