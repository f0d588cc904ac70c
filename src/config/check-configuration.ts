import { allConfigs } from './all-configs.js';
import { readJiraModuleSettings } from './jira-options.js';
import { EnvValidationError } from '../integrations/jira/config/validate-env.js';

/**
 * Every problem of the configuration, in one list: the server's namespaces (each validates its own
 * slice of process.env) and the module's options as the environment makes them (validated as the
 * module will, every problem at once, by variable name), so an operator fixes everything in one go.
 */
export function findConfigurationProblems(): string[] {
  const problems = new Set<string>(); // NODE_ENV and DATA_DIR are validated by several namespaces
  for (const loadNamespace of [...allConfigs, () => readJiraModuleSettings(process.env)]) {
    try {
      loadNamespace();
    } catch (err) {
      if (!(err instanceof EnvValidationError)) throw err;
      err.problems.forEach((p) => problems.add(p));
    }
  }
  return [...problems];
}

/** The start-up message: one line per variable, what to do next, no stack trace. */
export function formatConfigurationProblems(problems: string[]): string {
  const count = problems.length === 1 ? '1 configuration problem' : `${problems.length} configuration problems`;
  return `jira-connect cannot start: ${count}\n${problems.map((p) => `  - ${p}`).join('\n')}\n`
    + 'Fix them in the environment or in .env (every variable is described in .env.example).';
}
