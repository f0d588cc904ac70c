export { appConfig } from './app.config.js';
export { authConfig } from './auth.config.js';
export { databaseConfig } from './database.config.js';
export { adminConfig } from './admin.config.js';
export { teamAccessConfig } from './team-access.config.js';
export { jiraOptionsFromEnv } from './jira-options.js';

/** Every namespace, loaded (and so validated) when ConfigModule starts. */
export { allConfigs } from './all-configs.js';
