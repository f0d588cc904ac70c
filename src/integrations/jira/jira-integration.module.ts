import { HttpModule } from '@nestjs/axios';
import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AtlassianGateway } from './atlassian.gateway.js';
import { JiraIntegration } from './entities/jira-integration.entity.js';
import { JiraOAuthState } from './entities/jira-oauth-state.entity.js';

/** The Jira Cloud integration: OAuth connect flow, token management and the Jira client. */
@Module({
  imports: [HttpModule, TypeOrmModule.forFeature([JiraIntegration, JiraOAuthState])],
  providers: [AtlassianGateway],
  exports: [AtlassianGateway],
})
export class JiraIntegrationModule {}
