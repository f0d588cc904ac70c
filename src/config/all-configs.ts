import { AdminEnv, adminConfig } from './admin.config.js';
import { AppEnv, appConfig } from './app.config.js';
import { AuthEnv, authConfig } from './auth.config.js';
import { DatabaseEnv, databaseConfig } from './database.config.js';
import { EncryptionEnv, encryptionConfig } from './encryption.config.js';
import { JiraEnv, jiraConfig } from './jira.config.js';
import { JiraWebhooksEnv, jiraWebhooksConfig } from './jira-webhooks.config.js';
import { JiraProxyEnv, jiraProxyConfig } from './jira-proxy.config.js';
import { NotifyEnv, notifyConfig } from './notify.config.js';
import { JiraRateLimitEnv, jiraRateLimitConfig } from './jira-rate-limit.config.js';
import { RateLimitEnv, rateLimitConfig } from './rate-limit.config.js';
import { RedisEnv, redisConfig } from './redis.config.js';
import { TeamAccessEnv, teamAccessConfig } from './team-access.config.js';

export const allConfigs = [
  appConfig, authConfig, databaseConfig, encryptionConfig, jiraConfig, jiraRateLimitConfig, jiraWebhooksConfig, rateLimitConfig, redisConfig,
  notifyConfig, adminConfig, teamAccessConfig, jiraProxyConfig,
];

/**
 * The validated schema of each namespace, in the order docs/configuration.md lists them (that page
 * is generated from these classes: `npm run docs:config`). A namespace added above belongs here too.
 */
export const allEnvSchemas: ReadonlyArray<{ title: string; file: string; schema: new () => object }> = [
  { title: 'Server', file: 'app.config.ts', schema: AppEnv },
  { title: 'Database', file: 'database.config.ts', schema: DatabaseEnv },
  { title: 'Bearer tokens of the product', file: 'auth.config.ts', schema: AuthEnv },
  { title: 'Team membership', file: 'team-access.config.ts', schema: TeamAccessEnv },
  { title: 'Encryption at rest', file: 'encryption.config.ts', schema: EncryptionEnv },
  { title: 'Atlassian app, tokens and consent', file: 'jira.config.ts', schema: JiraEnv },
  { title: 'Atlassian rate limits (the governor)', file: 'jira-rate-limit.config.ts', schema: JiraRateLimitEnv },
  { title: 'Our own rate limits', file: 'rate-limit.config.ts', schema: RateLimitEnv },
  { title: 'Redis', file: 'redis.config.ts', schema: RedisEnv },
  { title: 'Jira proxies', file: 'jira-proxy.config.ts', schema: JiraProxyEnv },
  { title: 'Jira webhooks', file: 'jira-webhooks.config.ts', schema: JiraWebhooksEnv },
  { title: 'Notifications to the product', file: 'notify.config.ts', schema: NotifyEnv },
  { title: 'Admin API', file: 'admin.config.ts', schema: AdminEnv },
];
