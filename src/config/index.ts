export { appConfig } from '../integrations/jira/config/app.config.js';
export { authConfig } from './auth.config.js';
export { databaseConfig } from './database.config.js';
export { encryptionConfig } from '../integrations/jira/config/encryption.config.js';
export { jiraConfig } from '../integrations/jira/config/jira.config.js';
export { jiraRateLimitConfig } from '../integrations/jira/config/jira-rate-limit.config.js';
export { rateLimitConfig } from '../integrations/jira/config/rate-limit.config.js';
export { redisConfig } from '../integrations/jira/config/redis.config.js';
export { notifyConfig } from '../integrations/jira/config/notify.config.js';
export { adminConfig } from './admin.config.js';
export { teamAccessConfig } from './team-access.config.js';

/** Every namespace, loaded (and so validated) when ConfigModule starts. */
export { allConfigs } from './all-configs.js';
