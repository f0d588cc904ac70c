import { adminConfig } from './admin.config.js';
import { appConfig } from './app.config.js';
import { authConfig } from './auth.config.js';
import { databaseConfig } from './database.config.js';
import { encryptionConfig } from './encryption.config.js';
import { jiraConfig } from './jira.config.js';
import { jiraWebhooksConfig } from './jira-webhooks.config.js';
import { jiraProxyConfig } from './jira-proxy.config.js';
import { notifyConfig } from './notify.config.js';
import { jiraRateLimitConfig } from './jira-rate-limit.config.js';
import { rateLimitConfig } from './rate-limit.config.js';
import { redisConfig } from './redis.config.js';
import { teamAccessConfig } from './team-access.config.js';

export const allConfigs = [
  appConfig, authConfig, databaseConfig, encryptionConfig, jiraConfig, jiraRateLimitConfig, jiraWebhooksConfig, rateLimitConfig, redisConfig,
  notifyConfig, adminConfig, teamAccessConfig, jiraProxyConfig,
];
