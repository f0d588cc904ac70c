import { appConfig } from './app.config.js';
import { authConfig } from './auth.config.js';
import { databaseConfig } from './database.config.js';
import { encryptionConfig } from './encryption.config.js';
import { jiraConfig } from './jira.config.js';
import { notifyConfig } from './notify.config.js';
import { rateLimitConfig } from './rate-limit.config.js';
import { redisConfig } from './redis.config.js';

export const allConfigs = [appConfig, authConfig, databaseConfig, encryptionConfig, jiraConfig, rateLimitConfig, redisConfig, notifyConfig];
