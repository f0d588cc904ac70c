import type { Provider } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { ModuleRef } from '@nestjs/core';
import { getOptionsToken, getStorageToken, ThrottlerStorageService, type ThrottlerModuleOptions, type ThrottlerStorage } from '@nestjs/throttler';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { Clock } from '../common/clock.js';
import { EncryptionService } from '../common/crypto/encryption.service.js';
import { boundedRedisClient } from '../common/throttling/bounded-redis.js';
import { throttlersFor } from '../common/throttling/throttlers.js';
import { RedisThrottlerStorage } from '../common/throttling/redis-throttler.storage.js';
import type { appConfig } from '../config/app.config.js';
import { encryptionConfig } from '../config/encryption.config.js';
import { jiraConfig } from '../config/jira.config.js';
import { jiraRateLimitConfig } from '../config/jira-rate-limit.config.js';
import { jiraWebhooksConfig } from '../config/jira-webhooks.config.js';
import { jiraProxyConfig } from '../config/jira-proxy.config.js';
import { redisConfig } from '../config/redis.config.js';
import { notifyConfig, type NotifySettings } from '../config/notify.config.js';
import { rateLimitConfig, type RateLimitSettings } from '../config/rate-limit.config.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { NotificationMetrics } from '../notifications/notification-metrics.js';
import { NotificationOutbox } from '../notifications/notification-outbox.js';
import { NotificationWorker } from '../notifications/notification.worker.js';
import { TableTeamAccessPolicy, TeamAccessPolicy } from '../teams/team-access.policy.js';
import { TeamGuard } from '../teams/team.guard.js';
import {
  atlassianRateLimitSettingsFrom,
  encryptionSettingsFrom,
  JIRA_MODULE_OPTIONS,
  JIRA_ROUTE_PREFIX,
  jiraSettingsFrom,
  notifySettingsFrom,
  proxySettingsFrom,
  rateLimitSettingsFrom,
  webhookSettingsFrom,
  redisSettingsFrom,
  type JiraIntegrationModuleOptions,
} from '../jira-integration.options.js';
import { StoredKeyCheck } from '../tokens/stored-key-check.js';
import { RequestUserGuard } from './request-user.guard.js';

type Options = JiraIntegrationModuleOptions;

const MODULE_NOTIFICATION_WORKER = Symbol('JiraIntegrationModule.NotificationWorker');

function rateLimitStorage(options: Options): ThrottlerStorage {
  const { storage, redisUrl } = options.rateLimit ?? {};
  if (storage) return storage;
  if (!redisUrl) return new ThrottlerStorageService();
  const { redisCommandTimeoutMs = 1000, redisConnectTimeoutMs = 1000 } = options.rateLimit ?? {};
  return new RedisThrottlerStorage(boundedRedisClient(redisUrl, { commandTimeoutMs: redisCommandTimeoutMs, connectTimeoutMs: redisConnectTimeoutMs }));
}

/**
 * What the module's services inject, built from the module options and provided INSIDE the
 * module: the config namespace tokens the services already read (`jiraConfig.KEY`, ...), the
 * cipher, clock, metrics, team policy, notification outbox and the rate limiter. Local providers win over a host's
 * global ones, so the module needs none of this app's ConfigModule, AuthModule or DatabaseModule,
 * and a host's own ThrottlerModule or ConfigModule is left alone.
 */
export const optionProviders: Provider[] = [
  { provide: jiraConfig.KEY, inject: [JIRA_MODULE_OPTIONS, JIRA_ROUTE_PREFIX], useFactory: jiraSettingsFrom },
  { provide: encryptionConfig.KEY, inject: [JIRA_MODULE_OPTIONS], useFactory: encryptionSettingsFrom },
  { provide: rateLimitConfig.KEY, inject: [JIRA_MODULE_OPTIONS], useFactory: rateLimitSettingsFrom },
  EncryptionService,
  Clock,
  { provide: MetricsService, inject: [JIRA_MODULE_OPTIONS], useFactory: (o: Options) => o.metrics ?? new MetricsService() },
  {
    provide: TeamAccessPolicy,
    inject: [JIRA_MODULE_OPTIONS, ModuleRef],
    useFactory: (o: Options, moduleRef: ModuleRef): TeamAccessPolicy | Promise<TeamAccessPolicy> => {
      const policy = o.teamAccessPolicy ?? TableTeamAccessPolicy;
      return typeof policy === 'function' ? moduleRef.create(policy) : policy;
    },
  },
  TeamGuard,
  RequestUserGuard,
  {
    // Built here rather than injected with the server's `app` namespace, whose token inside the
    // module would hide the server's own from `app.get()`: only `isProduction` matters to it.
    provide: StoredKeyCheck,
    inject: [getDataSourceToken(), EncryptionService, JIRA_MODULE_OPTIONS],
    useFactory: (dataSource: DataSource, cipher: EncryptionService, o: Options) =>
      new StoredKeyCheck(dataSource, cipher, { isProduction: o.production ?? process.env.NODE_ENV === 'production' } as ConfigType<typeof appConfig>),
  },
  { provide: jiraRateLimitConfig.KEY, inject: [JIRA_MODULE_OPTIONS], useFactory: atlassianRateLimitSettingsFrom },
  { provide: redisConfig.KEY, inject: [JIRA_MODULE_OPTIONS], useFactory: redisSettingsFrom },
  { provide: notifyConfig.KEY, inject: [JIRA_MODULE_OPTIONS], useFactory: notifySettingsFrom },
  { provide: jiraWebhooksConfig.KEY, inject: [JIRA_MODULE_OPTIONS], useFactory: webhookSettingsFrom },
  { provide: jiraProxyConfig.KEY, inject: [JIRA_MODULE_OPTIONS], useFactory: proxySettingsFrom },
  {
    provide: NotificationOutbox,
    inject: [JIRA_MODULE_OPTIONS, notifyConfig.KEY, Clock],
    useFactory: (o: Options, settings: NotifySettings, clock: Clock) => o.notificationOutbox ?? new NotificationOutbox(settings, clock),
  },
  {
    // Only when the module has its own outbox: a given one already has its worker. A token of its
    // own, so a host's (or the standalone server's) NotificationWorker stays the one `get` finds.
    provide: MODULE_NOTIFICATION_WORKER,
    inject: [JIRA_MODULE_OPTIONS, notifyConfig.KEY, getDataSourceToken(), Clock, MetricsService],
    useFactory: (o: Options, settings: NotifySettings, dataSource: DataSource, clock: Clock, metrics: MetricsService) =>
      o.notificationOutbox ? null : new NotificationWorker(settings, dataSource, clock, new NotificationMetrics(metrics)),
  },
  {
    provide: getOptionsToken(),
    inject: [JIRA_MODULE_OPTIONS, rateLimitConfig.KEY],
    useFactory: (o: Options, limits: RateLimitSettings): ThrottlerModuleOptions => ({ storage: rateLimitStorage(o), throttlers: throttlersFor(limits) }),
  },
  { provide: getStorageToken(), inject: [getOptionsToken()], useFactory: (o: { storage: ThrottlerStorage }) => o.storage },
];
