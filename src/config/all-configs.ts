import { AdminEnv, adminConfig } from './admin.config.js';
import { AppEnv, appConfig } from '../integrations/jira/config/app.config.js';
import { AuthEnv, authConfig } from './auth.config.js';
import { DatabaseEnv, databaseConfig } from './database.config.js';
import { EncryptionEnv, encryptionConfig } from '../integrations/jira/config/encryption.config.js';
import { JiraEnv, jiraConfig } from '../integrations/jira/config/jira.config.js';
import { JiraWebhooksEnv, jiraWebhooksConfig } from '../integrations/jira/config/jira-webhooks.config.js';
import { JiraProxyEnv, jiraProxyConfig } from '../integrations/jira/config/jira-proxy.config.js';
import { NotifyEnv, notifyConfig } from '../integrations/jira/config/notify.config.js';
import { JiraRateLimitEnv, jiraRateLimitConfig } from '../integrations/jira/config/jira-rate-limit.config.js';
import { RateLimitEnv, rateLimitConfig } from '../integrations/jira/config/rate-limit.config.js';
import { RedisEnv, redisConfig } from '../integrations/jira/config/redis.config.js';
import { TeamAccessEnv, teamAccessConfig } from './team-access.config.js';

export const allConfigs = [
  appConfig, authConfig, databaseConfig, encryptionConfig, jiraConfig, jiraRateLimitConfig, jiraWebhooksConfig, rateLimitConfig, redisConfig,
  notifyConfig, adminConfig, teamAccessConfig, jiraProxyConfig,
];

/**
 * The validated schema of each namespace, in the order docs/configuration.md lists them (that page
 * is generated from these classes: `npm run docs:config`), and its file from the repository root
 * (the module's own namespaces are in src/integrations/jira/config/). A namespace added above belongs here too.
 */
export const allEnvSchemas: ReadonlyArray<{ title: string; file: string; schema: new () => object }> = [
  { title: 'Server', file: 'src/integrations/jira/config/app.config.ts', schema: AppEnv },
  { title: 'Database', file: 'src/config/database.config.ts', schema: DatabaseEnv },
  { title: 'Bearer tokens of the product', file: 'src/config/auth.config.ts', schema: AuthEnv },
  { title: 'Team membership', file: 'src/config/team-access.config.ts', schema: TeamAccessEnv },
  { title: 'Encryption at rest', file: 'src/integrations/jira/config/encryption.config.ts', schema: EncryptionEnv },
  { title: 'Atlassian app, tokens and consent', file: 'src/integrations/jira/config/jira.config.ts', schema: JiraEnv },
  { title: 'Atlassian rate limits (the governor)', file: 'src/integrations/jira/config/jira-rate-limit.config.ts', schema: JiraRateLimitEnv },
  { title: 'Our own rate limits', file: 'src/integrations/jira/config/rate-limit.config.ts', schema: RateLimitEnv },
  { title: 'Redis', file: 'src/integrations/jira/config/redis.config.ts', schema: RedisEnv },
  { title: 'Jira proxies', file: 'src/integrations/jira/config/jira-proxy.config.ts', schema: JiraProxyEnv },
  { title: 'Jira webhooks', file: 'src/integrations/jira/config/jira-webhooks.config.ts', schema: JiraWebhooksEnv },
  { title: 'Notifications to the product', file: 'src/integrations/jira/config/notify.config.ts', schema: NotifyEnv },
  { title: 'Admin API', file: 'src/config/admin.config.ts', schema: AdminEnv },
];
