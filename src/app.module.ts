import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_FILTER } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { AdminModule } from './admin/admin.module.js';
import { AuthModule } from './auth/auth.module.js';
import { ClockModule } from './common/crypto/encryption.module.js';
import { AppLoggerModule } from './common/logging/logging.module.js';
import { ProblemDetailsFilter } from './integrations/jira/common/problem-details.filter.js';
import { allConfigs } from './config/all-configs.js';
import { DatabaseModule } from './database/database.module.js';
import { HealthModule } from './health/health.module.js';
import { JiraIntegrationModule } from './integrations/jira/jira-integration.module.js';
import { jiraOptionsFromEnv } from './config/jira-options.js';
import { MetricsController } from './metrics/metrics.controller.js';
import { TeamAccessPolicy } from './integrations/jira/teams/team-access.policy.js';
import { TeamsModule } from './teams/teams.module.js';

/**
 * The standalone server is one host of the module: its environment becomes the module's options in
 * one factory (config/jira-options.ts), with its own team-access policy (TEAM_ACCESS_POLICY, TeamsModule).
 */
const jiraIntegration = JiraIntegrationModule.forRootAsync({
  inject: [TeamAccessPolicy],
  useFactory: (policy: TeamAccessPolicy) => jiraOptionsFromEnv(process.env, policy),
  // The SPA's Jira proxy (docs/proxy.md); the backend's is in AdminModule.
  jiraProxy: true,
});

@Module({
  imports: [
    // Validation happens in each namespace factory (src/config); a bad value stops start-up.
    ConfigModule.forRoot({
      isGlobal: true,
      cache: true,
      load: allConfigs,
      // `.env` for local runs; never in tests, whose settings must not depend on a developer's file.
      ignoreEnvFile: process.env.NODE_ENV === 'test',
    }),
    AppLoggerModule,
    ClockModule,
    DatabaseModule,
    AuthModule,
    TeamsModule,
    HealthModule,
    EventEmitterModule.forRoot(),
    AdminModule,
    jiraIntegration,
  ],
  // GET /metrics renders the module's registry (its exported MetricsService).
  controllers: [MetricsController],
  providers: [{ provide: APP_FILTER, useClass: ProblemDetailsFilter }],
  // JiraTokenManager, JiraClient, ... for modules built on this app (e.g. bench/).
  exports: [jiraIntegration],
})
export class AppModule {}
