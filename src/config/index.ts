export { appConfig } from './app.config.js';
export { authConfig } from './auth.config.js';
export { databaseConfig } from './database.config.js';
export { encryptionConfig } from './encryption.config.js';
export { jiraConfig } from './jira.config.js';
export { jiraRateLimitConfig } from './jira-rate-limit.config.js';
export { rateLimitConfig } from './rate-limit.config.js';
export { redisConfig } from './redis.config.js';
export { notifyConfig } from './notify.config.js';
export { adminConfig } from './admin.config.js';
export { teamAccessConfig } from './team-access.config.js';

/** Every namespace, loaded (and so validated) when ConfigModule starts. */
export { allConfigs } from './all-configs.js';
