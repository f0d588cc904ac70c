import type { JiraIntegrationModuleOptions } from '../integrations/jira/jira-integration.options.js';
import { OPTION_SECTIONS, resolveModuleSettings, withNamer, type JiraModuleSettings } from '../integrations/jira/config/module-settings.js';
import { DEFAULT_ROUTE_PREFIX } from '../integrations/jira/jira-integration.options.js';
import { optionPath, variablesOf } from '../integrations/jira/config/option-schema.js';
import { devSecret } from '../integrations/jira/config/dev-secrets.js';
import { RuntimeEnv } from '../integrations/jira/config/runtime.env.js';
import { isPlaceholder, validateEnv } from '../integrations/jira/config/validate-env.js';
import type { TeamAccessPolicy } from '../integrations/jira/teams/team-access.policy.js';

/**
 * The standalone server's one factory from its environment to the module's options: each option
 * the schema marks with `@Env` reads its variable (text; the module's validation converts and
 * checks it, naming the variable in every problem). Besides the variables: production from
 * NODE_ENV, a development key generated into DATA_DIR when ENCRYPTION_KEY is unset outside
 * production, and the server's own team-access policy (TEAM_ACCESS_POLICY).
 */
export function jiraOptionsFromEnv(env: NodeJS.ProcessEnv = process.env, teamAccessPolicy?: TeamAccessPolicy): JiraIntegrationModuleOptions {
  const options: Record<string, unknown> = {};
  const variables = new Map<string, string>();
  for (const { section, schema } of OPTION_SECTIONS) {
    const target = section ? ((options[section] ??= {}) as Record<string, unknown>) : options;
    for (const [property, variable] of variablesOf(schema)) {
      variables.set(optionPath(section, property), variable);
      if (env[variable] !== undefined) target[property] = env[variable];
    }
  }
  const runtime = validateEnv(RuntimeEnv, env);
  const encryption = options.encryption as { currentKey?: string };
  if ((!encryption.currentKey?.trim() || isPlaceholder(encryption.currentKey)) && runtime.NODE_ENV !== 'production') {
    encryption.currentKey = devSecret(runtime.DATA_DIR, 'ENCRYPTION_KEY');
  }
  const named = withNamer({ ...options, production: runtime.NODE_ENV === 'production', ...(teamAccessPolicy ? { teamAccessPolicy } : {}) },
    (section, property) => variables.get(optionPath(section, property)) ?? optionPath(section, property));
  return named as unknown as JiraIntegrationModuleOptions;
}

/** The module's settings as the standalone server's environment makes them (the CLI, and tests of the variables). */
export function readJiraModuleSettings(env: NodeJS.ProcessEnv = process.env): JiraModuleSettings {
  return resolveModuleSettings(jiraOptionsFromEnv(env), DEFAULT_ROUTE_PREFIX);
}
