import { allConfigs } from './all-configs.js';
import { EnvValidationError } from '../integrations/jira/config/validate-env.js';

/**
 * Every problem of every config namespace, in one list: each namespace factory validates its own
 * slice of process.env and throws at its first problem group, so running them all (rather than
 * letting ConfigModule stop at the first) lets an operator fix everything in one go.
 */
export function findConfigurationProblems(): string[] {
  const problems = new Set<string>(); // NODE_ENV and DATA_DIR are validated by several namespaces
  for (const loadNamespace of allConfigs) {
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
