import { HttpModule } from '@nestjs/axios';
import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AtlassianGateway } from './atlassian.gateway.js';
import { JiraIntegration } from './entities/jira-integration.entity.js';
import { JiraOAuthState } from './entities/jira-oauth-state.entity.js';
import { JiraClient } from './jira-client.js';
import { JiraConnectionService } from './jira-connection.service.js';
import { JiraKeepAliveJob } from './jira-keepalive.job.js';
import { JiraOAuthController } from './jira-oauth.controller.js';
import { JiraOAuthService } from './jira-oauth.service.js';
import { JiraTokenManager } from './jira-token-manager.service.js';
import { OAuthStateStore } from './oauth-state.store.js';

/** The Jira Cloud integration: OAuth connect flow, token management and the Jira client. */
@Module({
  imports: [HttpModule, TypeOrmModule.forFeature([JiraIntegration, JiraOAuthState])],
  controllers: [JiraOAuthController],
  providers: [AtlassianGateway, JiraTokenManager, JiraClient, JiraKeepAliveJob, JiraOAuthService, JiraConnectionService, OAuthStateStore],
  exports: [AtlassianGateway, JiraTokenManager, JiraClient],
})
export class JiraIntegrationModule {}
