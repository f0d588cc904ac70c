import type { Provider } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { getOptionsToken, getStorageToken, ThrottlerStorageService, type ThrottlerModuleOptions, type ThrottlerStorage } from '@nestjs/throttler';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { Clock } from '../common/clock.js';
import { EncryptionService } from '../common/crypto/encryption.service.js';
import { boundedRedisClient } from '../common/throttling/bounded-redis.js';
import { throttlersFor } from '../common/throttling/throttlers.js';
import { RedisThrottlerStorage } from '../common/throttling/redis-throttler.storage.js';
import { JIRA_SETTINGS, resolveModuleSettings, type JiraModuleSettings } from '../config/module-settings.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { NotificationMetrics } from '../notifications/notification-metrics.js';
import { NotificationOutbox } from '../notifications/notification-outbox.js';
import { NotificationWorker } from '../notifications/notification.worker.js';
import { JIRA_TEAM_ACCESS, TableTeamAccessPolicy, type TeamAccessPolicy } from '../teams/team-access.policy.js';
import { TeamGuard } from '../teams/team.guard.js';
import { JIRA_MODULE_OPTIONS, JIRA_ROUTE_PREFIX, type JiraIntegrationModuleOptions } from '../jira-integration.options.js';
import { StoredKeyCheck } from '../tokens/stored-key-check.js';
import { RequestUserGuard } from './request-user.guard.js';

type Options = JiraIntegrationModuleOptions;


function rateLimitStorage(options: Options, { redis }: JiraModuleSettings): ThrottlerStorage {
  if (options.rateLimit?.storage) return options.rateLimit.storage;
  if (!redis.url) return new ThrottlerStorageService();
  return new RedisThrottlerStorage(boundedRedisClient(redis.url, { commandTimeoutMs: redis.commandTimeoutMs, connectTimeoutMs: redis.connectTimeoutMs }));
}

/**
 * What the module's services inject, built from the module options and provided INSIDE the
 * module: the one settings token (`JIRA_SETTINGS`, the options validated once), the cipher, clock,
 * metrics, team policy, notification outbox and the rate limiter. None of them is a token a host
 * provides (no @nestjs/config namespace), so a host's own ConfigModule or ThrottlerModule is left alone.
 */
export const optionProviders: Provider[] = [
  { provide: JIRA_SETTINGS, inject: [JIRA_MODULE_OPTIONS, JIRA_ROUTE_PREFIX], useFactory: resolveModuleSettings },
  EncryptionService,
  Clock,
  { provide: MetricsService, inject: [JIRA_MODULE_OPTIONS], useFactory: (o: Options) => o.metrics ?? new MetricsService() },
  {
    provide: JIRA_TEAM_ACCESS,
    inject: [JIRA_MODULE_OPTIONS, ModuleRef],
    useFactory: (o: Options, moduleRef: ModuleRef): TeamAccessPolicy | Promise<TeamAccessPolicy> => {
      const policy = o.teamAccessPolicy ?? TableTeamAccessPolicy;
      return typeof policy === 'function' ? moduleRef.create(policy) : policy;
    },
  },
  TeamGuard,
  RequestUserGuard,
  StoredKeyCheck,
  {
    provide: NotificationOutbox,
    inject: [JIRA_MODULE_OPTIONS, JIRA_SETTINGS, Clock],
    useFactory: (o: Options, settings: JiraModuleSettings, clock: Clock) => o.notificationOutbox ?? new NotificationOutbox(settings, clock),
  },
  {
    // Only when the module has its own outbox: a host's own notifications port sends its own.
    provide: NotificationWorker,
    inject: [JIRA_MODULE_OPTIONS, JIRA_SETTINGS, getDataSourceToken(), Clock, MetricsService],
    useFactory: (o: Options, settings: JiraModuleSettings, dataSource: DataSource, clock: Clock, metrics: MetricsService) =>
      o.notificationOutbox ? null : new NotificationWorker(settings, dataSource, clock, new NotificationMetrics(metrics)),
  },
  {
    provide: getOptionsToken(),
    inject: [JIRA_MODULE_OPTIONS, JIRA_SETTINGS],
    useFactory: (o: Options, settings: JiraModuleSettings): ThrottlerModuleOptions => ({ storage: rateLimitStorage(o, settings), throttlers: throttlersFor(settings.rateLimit) }),
  },
  { provide: getStorageToken(), inject: [getOptionsToken()], useFactory: (o: { storage: ThrottlerStorage }) => o.storage },
];
