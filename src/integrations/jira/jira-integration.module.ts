import { HttpModule } from '@nestjs/axios';
import { ConfigurableModuleBuilder, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { getDataSourceToken, TypeOrmModule } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { Clock } from './common/clock.js';
import { JobRunner } from './jobs/job-runner.js';
import { AtlassianGateway } from './atlassian/atlassian.gateway.js';
import { jiraConnectEntities } from './entities/index.js';
import { TokenColumnsSubscription } from './entities/jira-integration-tokens.subscriber.js';
import { JiraClient } from './client/jira-client.js';
import { JiraConnectionService } from './connect/jira-connection.service.js';
import { JiraKeepAliveJob } from './tokens/jira-keepalive.job.js';
import { JiraOAuthService } from './connect/jira-oauth.service.js';
import { JiraServiceAccountService } from './connect/service-account.service.js';
import { JiraTokenManager } from './tokens/jira-token-manager.service.js';
import { TokenSealer } from './tokens/token-sealing.js';
import { JiraRefreshRecoveryJob } from './tokens/jira-refresh-recovery.job.js';
import { OAuthStateStore } from './connect/oauth-state.store.js';
import { RateLimitGovernor } from './client/rate-limit-governor.js';
import { JiraProxyService } from './proxy/jira-proxy.service.js';
import { rateLimitStateStoreProvider } from './client/rate-limit-state.js';
import { JiraWebhookDispatcher } from './webhooks/jira-webhook.dispatcher.js';
import { JiraWebhookInbox } from './webhooks/jira-webhook-inbox.service.js';
import { JiraWebhookLifecycle } from './webhooks/jira-webhook-lifecycle.service.js';
import { JiraWebhookMetrics } from './webhooks/jira-webhook.metrics.js';
import { JiraWebhookRegistry } from './webhooks/jira-webhook.registry.js';
import { JiraWebhookRenewalJob } from './webhooks/jira-webhook-renewal.job.js';
import { ReconsentNoticeJob } from './lifecycle/reconsent-notice.job.js';
import { PersonalDataReportJob } from './lifecycle/personal-data-report.job.js';

import {
  DEFAULT_ROUTE_PREFIX,
  JIRA_MODULE_OPTIONS,
  JIRA_ROUTE_PREFIX,
  type JiraIntegrationModuleExtras,
  type JiraIntegrationModuleOptions,
} from './jira-integration.options.js';
import { mountControllers } from './module/routes.js';
import { optionProviders } from './module/option-providers.js';
import { MetricsService } from './metrics/metrics.service.js';

/** The one leased job runner every background task uses (jobs/): one per DataSource, shared with workers built outside DI. */
const JOB_RUNNER = { provide: JobRunner, inject: [getDataSourceToken(), Clock], useFactory: (ds: DataSource, clock: Clock) => JobRunner.for(ds, clock) };

/** Managed webhooks: registration lifecycle, receiver, inbox and dispatch (webhooks/). */
const WEBHOOK_PROVIDERS = [JiraWebhookRegistry, JiraWebhookMetrics, JiraWebhookLifecycle, JiraWebhookRenewalJob, JiraWebhookInbox, JiraWebhookDispatcher];

/** Connections that outlive a moment: consent expiry notices and personal-data reporting (lifecycle/). */
const LIFECYCLE_PROVIDERS = [ReconsentNoticeJob, PersonalDataReportJob];

export { jiraConnectEntities };

const builder = new ConfigurableModuleBuilder<JiraIntegrationModuleOptions>({
  optionsInjectionToken: JIRA_MODULE_OPTIONS,
})
  .setClassMethodName('forRoot')
  .setExtras<JiraIntegrationModuleExtras>({ routePrefix: DEFAULT_ROUTE_PREFIX, jiraProxy: false }, (definition, extras) => ({
    ...definition,
    // Routes are mapped before any options factory runs, so the prefix is a static extra.
    controllers: mountControllers(extras.routePrefix ?? DEFAULT_ROUTE_PREFIX, { jiraProxy: extras.jiraProxy }),
    providers: [...(definition.providers ?? []), { provide: JIRA_ROUTE_PREFIX, useValue: extras.routePrefix ?? DEFAULT_ROUTE_PREFIX }],
  }))
  .build();
const { ConfigurableModuleClass } = builder;

/** What `forRoot` takes (options plus `routePrefix`). */
export type JiraIntegrationModuleForRootOptions = typeof builder.OPTIONS_TYPE;
/** What `forRootAsync` takes: `{ useFactory, inject, imports, routePrefix }`. */
export type JiraIntegrationModuleAsyncOptions = typeof builder.ASYNC_OPTIONS_TYPE;

/**
 * The Jira Cloud integration: OAuth connect flow, token management and the Jira client.
 * `JiraIntegrationModule.forRoot(options)` / `forRootAsync({ useFactory, inject, imports })`
 * (options: jira-integration.options.ts). Controllers are mounted under the route prefix by
 * module/routes.ts; everything the services inject from outside comes from module/option-providers.ts.
 * Needs from the host: a default TypeORM DataSource and EventEmitterModule.forRoot()
 * (docs/embedding.md). Background work runs on the module's own job runner (jobs/), not
 * @nestjs/schedule: ScheduleModule.forRoot() is not needed.
 */
@Module({
  imports: [HttpModule, DiscoveryModule, TypeOrmModule.forFeature(jiraConnectEntities)],
  providers: [
    ...optionProviders,
    JOB_RUNNER,
    AtlassianGateway, JiraTokenManager, JiraClient, JiraKeepAliveJob, JiraOAuthService, JiraConnectionService, JiraServiceAccountService, OAuthStateStore,
    JiraRefreshRecoveryJob, // StoredKeyCheck: in module/option-providers.ts (built from the options)
    RateLimitGovernor, rateLimitStateStoreProvider, JiraProxyService,
    // This instance's cipher, from its `encryption` option, and the token subscriber it adds to its DataSource.
    TokenSealer, TokenColumnsSubscription,
    ...WEBHOOK_PROVIDERS,
    ...LIFECYCLE_PROVIDERS,
  ],
  exports: [AtlassianGateway, JiraTokenManager, JiraClient, JiraConnectionService, MetricsService, JiraWebhookDispatcher, JiraWebhookLifecycle, JiraProxyService],
})
export class JiraIntegrationModule extends ConfigurableModuleClass {}
