import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_FILTER } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { ScheduleModule } from '@nestjs/schedule';
import { AdminModule } from './admin/admin.module.js';
import { AuthModule } from './auth/auth.module.js';
import { EncryptionModule } from './common/crypto/encryption.module.js';
import { AppLoggerModule } from './common/logging/logging.module.js';
import { ProblemDetailsFilter } from './integrations/jira/common/problem-details.filter.js';
import { allConfigs } from './config/all-configs.js';
import { DatabaseModule } from './database/database.module.js';
import { HealthModule } from './health/health.module.js';
import { JiraIntegrationModule } from './integrations/jira/jira-integration.module.js';
import type { JiraIntegrationModuleOptions } from './integrations/jira/jira-integration.options.js';
import { StandaloneJiraOptionsModule, STANDALONE_JIRA_OPTIONS } from './jira-options.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { NotificationsModule } from './notifications/notifications.module.js';
import { TeamsModule } from './teams/teams.module.js';

/** The standalone server is one user of the module, fed from its config namespaces. */
const jiraIntegration = JiraIntegrationModule.forRootAsync({
  imports: [StandaloneJiraOptionsModule],
  inject: [STANDALONE_JIRA_OPTIONS],
  useFactory: (options: JiraIntegrationModuleOptions) => options,
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
    EncryptionModule,
    DatabaseModule,
    AuthModule,
    TeamsModule,
    HealthModule,
    EventEmitterModule.forRoot(),
    ScheduleModule.forRoot(),
    MetricsModule,
    NotificationsModule,
    AdminModule,
    jiraIntegration,
  ],
  providers: [{ provide: APP_FILTER, useClass: ProblemDetailsFilter }],
  // JiraTokenManager, JiraClient, ... for modules built on this app (e.g. bench/).
  exports: [jiraIntegration],
})
export class AppModule {}
