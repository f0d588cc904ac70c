import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { DataSourceOptions } from 'typeorm';
import { jiraConnectEntities, jiraConnectMigrations, JiraIntegrationModule } from 'jira-connect';
import { ApiKeyGuard } from './api-key.guard.js';
import { HostExceptionFilter } from './host-exception.filter.js';
import { hostEntities } from './host.entities.js';
import { HostSchema1766100000000 } from './host-schema.migration.js';
import { HostTeamAccessPolicy } from './host-team-access.policy.js';
import { JiraActivity } from './jira-activity.service.js';
import { MeController, TeamJiraController } from './team-jira.controller.js';

type PostgresConnectionOptions = Extract<DataSourceOptions, { type: 'postgres' }>;

export interface HostSettings {
  /** The host's database: `{ url }` (or any node-postgres compatible `driver`). */
  database: Partial<PostgresConnectionOptions>;
  atlassian: { clientId: string; clientSecret: string; redirectUri: string; authBaseUrl?: string; apiBaseUrl?: string };
  /** 32 bytes, base64. */
  encryptionKey: string;
  /** Where the module POSTs signed connection events (optional). */
  notifications?: { webhookUrl: string; secret: string; pollIntervalMs?: number };
  /** Jira's webhooks: the public URL of the module's `<prefix>/webhooks` route (optional). */
  webhooks?: { url: string; pollMs?: number };
}

/** The host's memberships and policy, shared by its own routes and the Jira module. */
@Module({
  imports: [TypeOrmModule.forFeature(hostEntities)],
  providers: [HostTeamAccessPolicy],
  exports: [HostTeamAccessPolicy, TypeOrmModule],
})
export class HostTeamsModule {}

@Module({})
export class HostAppModule {
  static register(settings: HostSettings): DynamicModule {
    return {
      module: HostAppModule,
      imports: [
        // The host's one DataSource: its tables and ours, its migrations and ours.
        TypeOrmModule.forRoot({
          type: 'postgres',
          ...settings.database,
          entities: [...hostEntities, ...jiraConnectEntities],
          migrations: [...jiraConnectMigrations, HostSchema1766100000000],
          migrationsRun: true,
          migrationsTransactionMode: 'each',
          // Our schema uses core gen_random_uuid(); no extension to install.
          installExtensions: false,
        } as PostgresConnectionOptions),
        EventEmitterModule.forRoot(),
        HostTeamsModule,
        JiraIntegrationModule.forRootAsync({
          routePrefix: 'integrations/jira',
          imports: [HostTeamsModule],
          inject: [HostTeamAccessPolicy],
          useFactory: (policy: HostTeamAccessPolicy) => ({
            atlassian: settings.atlassian,
            encryption: { currentKey: settings.encryptionKey },
            teamAccessPolicy: policy,
            notifications: settings.notifications,
            webhooks: settings.webhooks,
          }),
        }),
      ],
      controllers: [MeController, TeamJiraController],
      providers: [
        { provide: APP_GUARD, useClass: ApiKeyGuard },
        { provide: APP_FILTER, useClass: HostExceptionFilter },
        JiraActivity,
      ],
    };
  }
}
