import { AdminEnv, adminConfig } from './admin.config.js';
import { AppEnv, appConfig } from './app.config.js';
import { AuthEnv, authConfig } from './auth.config.js';
import { DatabaseEnv, databaseConfig } from './database.config.js';
import { OPTION_SECTIONS } from '../integrations/jira/config/module-settings.js';
import { TeamAccessEnv, teamAccessConfig } from './team-access.config.js';

/**
 * The server's own namespaces (ConfigModule loads, and so validates, them at start). The module's
 * settings are not among them: its options are built from the environment by one factory
 * (jira-options.ts) and validated by the module itself.
 */
export const allConfigs = [appConfig, authConfig, databaseConfig, adminConfig, teamAccessConfig];

/**
 * The validated schema of each part of the configuration, in the order docs/configuration.md lists
 * them (that page is generated from these classes: `npm run docs:config`), and its file from the
 * repository root. `section` marks the module's options schema: its properties are option names
 * (`atlassian.clientId`) whose variable is the property's `@Env`.
 */
export const allEnvSchemas: ReadonlyArray<{ title: string; file: string; schema: new () => object; section?: string }> = [
  { title: 'Server', file: 'src/config/app.config.ts', schema: AppEnv },
  { title: 'Database', file: 'src/config/database.config.ts', schema: DatabaseEnv },
  { title: 'Bearer tokens of the product', file: 'src/config/auth.config.ts', schema: AuthEnv },
  { title: 'Team membership', file: 'src/config/team-access.config.ts', schema: TeamAccessEnv },
  ...OPTION_SECTIONS.map(({ section, title, schema, file }) => ({ title, section, schema, file })),
  { title: 'Admin API', file: 'src/config/admin.config.ts', schema: AdminEnv },
];
