import { formatConfigurationProblems } from './config/check-configuration.js';
import { EnvValidationError } from './integrations/jira/config/validate-env.js';
import { EmbeddedDatabaseLockedError } from './database/data-source.js';

/** Nest wraps errors thrown while building providers; the cause is what the operator must see. */
function unwrap(err: unknown): unknown {
  let current = err;
  for (let i = 0; i < 5 && current instanceof Error; i++) {
    if (current instanceof EnvValidationError || current instanceof EmbeddedDatabaseLockedError) return current;
    if (!current.cause) break;
    current = current.cause;
  }
  return err;
}

/** One message for a failed start: what went wrong and what to do, never a stack trace. */
export function startupFailureMessage(thrown: unknown): string {
  const err = unwrap(thrown);
  if (err instanceof EnvValidationError) return formatConfigurationProblems(err.problems);
  if (err instanceof EmbeddedDatabaseLockedError) return `jira-connect cannot start: ${err.message}`;
  const { code, port } = (err ?? {}) as { code?: string; port?: number };
  if (code === 'EADDRINUSE') {
    return `jira-connect cannot start: PORT ${port} is already in use by another process. `
      + 'Stop that process, or set PORT to a free port.';
  }
  if (code === 'EACCES') {
    return `jira-connect cannot start: PORT ${port} needs privileges this process does not have. Set PORT above 1023.`;
  }
  return `jira-connect failed to start: ${err instanceof Error ? err.message : String(err)}`;
}
