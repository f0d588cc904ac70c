import { Module } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { appConfig } from './integrations/jira/config/app.config.js';
import { encryptionConfig } from './integrations/jira/config/encryption.config.js';
import { jiraConfig } from './integrations/jira/config/jira.config.js';
import { jiraRateLimitConfig } from './integrations/jira/config/jira-rate-limit.config.js';
import { jiraWebhooksConfig } from './integrations/jira/config/jira-webhooks.config.js';
import { jiraProxyConfig } from './integrations/jira/config/jira-proxy.config.js';
import { rateLimitConfig } from './integrations/jira/config/rate-limit.config.js';
import { redisConfig } from './integrations/jira/config/redis.config.js';
import type { JiraIntegrationModuleOptions } from './integrations/jira/jira-integration.options.js';
import { MetricsService } from './integrations/jira/metrics/metrics.service.js';
import { NotificationOutbox } from './integrations/jira/notifications/notification-outbox.js';
import { TeamAccessPolicy } from './integrations/jira/teams/team-access.policy.js';

export const STANDALONE_JIRA_OPTIONS = 'STANDALONE_JIRA_OPTIONS';

/**
 * The standalone server's options for JiraIntegrationModule, from its validated config
 * namespaces, its TeamsModule policy, its /metrics registry and its notification outbox. A module of its own because
 * JiraIntegrationModule provides these very tokens inside itself (from the options), so its
 * forRootAsync factory would see its own providers rather than the app's.
 */
@Module({
  providers: [
    {
      provide: STANDALONE_JIRA_OPTIONS,
      inject: [appConfig.KEY, jiraConfig.KEY, jiraRateLimitConfig.KEY, encryptionConfig.KEY, rateLimitConfig.KEY, redisConfig.KEY, TeamAccessPolicy, MetricsService, NotificationOutbox,
        jiraWebhooksConfig.KEY, jiraProxyConfig.KEY],
      useFactory: (
        app: ConfigType<typeof appConfig>,
        jira: ConfigType<typeof jiraConfig>,
        atlassianRateLimit: ConfigType<typeof jiraRateLimitConfig>,
        encryption: ConfigType<typeof encryptionConfig>,
        limits: ConfigType<typeof rateLimitConfig>,
        redis: ConfigType<typeof redisConfig>,
        teamAccessPolicy: TeamAccessPolicy,
        metrics: MetricsService,
        notificationOutbox: NotificationOutbox,
        webhookSettings: ConfigType<typeof jiraWebhooksConfig>,
        proxySettings: ConfigType<typeof jiraProxyConfig>,
      ): JiraIntegrationModuleOptions => ({
        atlassian: jira,
        // Every JIRA_* setting, including ones the options above do not name.
        jiraSettings: jira,
        atlassianRateLimit,
        encryption,
        production: app.isProduction,
        teamAccessPolicy,
        rateLimit: {
          windowSeconds: limits.windowMs / 1000, perUser: limits.perUser, callbackPerIp: limits.callbackPerIp, proxyPerUser: limits.proxyPerUser,
          redisUrl: redis.url, redisCommandTimeoutMs: redis.commandTimeoutMs, redisConnectTimeoutMs: redis.connectTimeoutMs,
        },
        metrics,
        // NotificationsModule (global) has the worker that sends it.
        notificationOutbox,
        // JIRA_WEBHOOK_*, as validated at start-up.
        webhookSettings,
        // JIRA_PROXY_*, as validated at start-up.
        proxySettings,
      }),
    },
  ],
  exports: [STANDALONE_JIRA_OPTIONS],
})
export class StandaloneJiraOptionsModule {}
