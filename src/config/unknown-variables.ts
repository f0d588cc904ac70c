import { propertiesOf, variablesOf } from '../integrations/jira/config/option-schema.js';
import { allEnvSchemas } from './all-configs.js';

/**
 * The prefixes of jira-connect's own variables: a variable with one of these that the server does
 * not read is most likely a typo (JIRA_CLIENTID for JIRA_CLIENT_ID) that would otherwise be
 * silently ignored, leaving the default in force.
 */
export const CHECKED_PREFIXES = ['JIRA_', 'NOTIFY_', 'AUTH_', 'DATABASE_', 'ENCRYPTION_', 'ADMIN_', 'OAUTH_', 'TEAM_ACCESS_', 'REDIS_'] as const;

export interface UnknownVariable {
  name: string;
  /** The closest variable the server reads, when one is close enough to be the intended one. */
  suggestion?: string;
}

/** Every variable the standalone server reads: the validated properties of every settings schema. */
export function knownVariableNames(): Set<string> {
  return new Set(allEnvSchemas.flatMap(({ schema, section }) => {
    if (section === undefined) return propertiesOf(schema);
    const variables = variablesOf(schema);
    return propertiesOf(schema).map((p) => variables.get(p)).filter((v): v is string => v !== undefined);
  }));
}

/** Levenshtein distance (insertions, deletions, substitutions). */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

/**
 * The variables in `names` that carry one of our prefixes (in any case) and that the server does
 * not read, each with the closest known name when it is within a few edits (a third of the name's
 * length, at most 4) or differs only in case or underscores.
 */
export function unknownVariables(names: Iterable<string>, known: ReadonlySet<string>,
  prefixes: readonly string[] = CHECKED_PREFIXES): UnknownVariable[] {
  const squash = (s: string) => s.toUpperCase().replace(/_/g, '');
  const out: UnknownVariable[] = [];
  for (const name of [...names].sort()) {
    const upper = name.toUpperCase();
    if (known.has(name) || !prefixes.some((p) => upper.startsWith(p))) continue;
    let best: { name: string; distance: number } | undefined;
    for (const candidate of known) {
      const distance = squash(candidate) === squash(name) ? 0 : editDistance(upper, candidate);
      if (!best || distance < best.distance) best = { name: candidate, distance };
    }
    const close = best !== undefined && best.distance <= Math.min(4, Math.floor(name.length / 3));
    out.push(close ? { name, suggestion: best!.name } : { name });
  }
  return out;
}

/** One start-up line per unknown variable (never its value: it may be a secret). */
export function formatUnknownVariables(unknown: readonly UnknownVariable[]): string[] {
  return unknown.map(({ name, suggestion }) => suggestion
    ? `jira-connect: ${name} is not a variable jira-connect reads (ignored): did you mean ${suggestion}?`
    : `jira-connect: ${name} is not a variable jira-connect reads (ignored); every variable is listed in docs/configuration.md`);
}
