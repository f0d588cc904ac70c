import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { getMetadataStorage, validateSync } from 'class-validator';

/**
 * The module's one options schema: each section of `JiraIntegrationModuleOptions` is a class whose
 * properties carry their constraints (class-validator), their default (the initializer), what
 * they are for (`@Describe`) and the standalone server's variable for them (`@Env`). The module
 * validates its options against these classes once, at start, and reports every problem at once
 * in the host's terms: option paths (`atlassian.redirectUri`) for a host's options, variable names
 * (`JIRA_REDIRECT_URI`) for options the standalone server built from its environment.
 */

const variables = new Map<object, Map<string, string>>();

/** The standalone server's environment variable for this option. */
export function Env(variable: string): PropertyDecorator {
  return (target, property) => {
    const own = variables.get(target) ?? new Map<string, string>();
    own.set(String(property), variable);
    variables.set(target, own);
  };
}

/** property → variable of a section class (its base classes included). */
export function variablesOf(cls: new () => object): Map<string, string> {
  const out = new Map<string, string>();
  for (let proto = cls.prototype; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const [property, variable] of variables.get(proto) ?? []) if (!out.has(property)) out.set(property, variable);
  }
  return out;
}

/** The validated properties of a section class. */
export function propertiesOf(cls: new () => object): string[] {
  return [...new Set(getMetadataStorage().getTargetValidationMetadatas(cls, '', true, false).map((m) => m.propertyName))];
}

/** How a problem names a setting: `(section, property) => name`. */
export type Namer = (section: string, property: string) => string;

/** Option paths: `atlassian.redirectUri`, or `returnOrigins` at the top level. */
export const optionPath: Namer = (section, property) => (section ? `${section}.${property}` : property);

/** A list of whole numbers: text entries that are digits become numbers (the rest fail the section's check). */
export function asNumberList(value: unknown): unknown {
  const list = asList(value);
  return Array.isArray(list) ? list.map((v) => (typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v)) : list;
}

/** Comma (or, for scopes, space) separated text as a list; lists pass through. Empty entries dropped, duplicates kept once. */
export function asList(value: unknown, separator: RegExp = /,/): unknown {
  if (typeof value === 'string') return [...new Set(value.split(separator).map((s) => s.trim()).filter(Boolean))];
  if (Array.isArray(value)) return [...new Set(value.map((v) => (typeof v === 'string' ? v.trim() : v)))];
  return value;
}

/**
 * One section of the options, validated: defaults applied, text converted to numbers and lists
 * (the standalone server's values are text), problems appended to `problems` under `name`.
 * Empty text counts as unset (`FOO=` in a .env file falls back to the default). With `strict`, a
 * key the section does not declare is a problem too (a misspelt option is otherwise ignored).
 */
export function readSection<T extends object>(
  cls: new () => T, section: string, values: object | undefined, name: Namer, problems: string[], strict = false,
): T {
  const known = new Set(propertiesOf(cls));
  const raw: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values ?? {})) {
    if (strict && !known.has(key)) {
      problems.push(`${name(section, key)} is not an option (${section ? `${section} takes` : 'the options take'} ${[...known].join(', ')})`);
      continue;
    }
    if (value === undefined || value === null) continue;
    if (typeof value === 'string' && value.trim() === '') continue;
    raw[key] = typeof value === 'string' ? value.trim() : value;
  }
  const instance = plainToInstance(cls, raw, { enableImplicitConversion: true, exposeDefaultValues: true });
  for (const error of validateSync(instance, { stopAtFirstError: true, forbidUnknownValues: false })) {
    // One line per setting: the first failed constraint (the others usually say the same thing).
    const message = Object.values(error.constraints ?? {})[0];
    if (!message) continue;
    const named = name(section, error.property);
    problems.push(message.startsWith(`${error.property} `) ? `${named}${message.slice(error.property.length)}` : `${named}: ${message}`);
  }
  return instance;
}
