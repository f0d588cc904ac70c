import 'reflect-metadata';
import { getMetadataStorage, type ValidatorConstraintInterface } from 'class-validator';
import type { ValidationMetadata } from 'class-validator/types/metadata/ValidationMetadata.js';
import { allEnvSchemas } from '../../src/config/all-configs.js';
import { describedVariable } from '../../src/integrations/jira/config/describe.js';
import { optionPath, variablesOf } from '../../src/integrations/jira/config/option-schema.js';

/** Where the generated page lives, relative to the repository root. */
export const CONFIG_REFERENCE_PATH = 'docs/configuration.md';

const number = (n: unknown): string => (typeof n === 'number' ? n.toLocaleString('en-US') : String(n));
const code = (s: unknown): string => `\`${String(s)}\``;
/** Table cells: a `|` inside would start a new column. */
const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** A validator's own message, without the variable name class-validator puts first. */
function message(m: ValidationMetadata, property: string): string | undefined {
  if (typeof m.message !== 'string') return undefined;
  for (const name of [property, '$property']) if (m.message.startsWith(`${name} `)) return m.message.slice(name.length + 1);
  return m.message;
}

/** What values the schema accepts, in words, from the class-validator decorators on the property. */
function allowed(property: string, rules: ValidationMetadata[]): string {
  const byName = new Map(rules.filter((r) => r.name).map((r) => [r.name as string, r]));
  const min = byName.get('min')?.constraints[0];
  const max = byName.get('max')?.constraints[0];
  const range = min !== undefined && max !== undefined ? `${number(min)} to ${number(max)}` : min !== undefined ? `at least ${number(min)}` : max !== undefined ? `at most ${number(max)}` : '';
  const parts: string[] = [];
  if (byName.has('isInt')) parts.push(range ? `whole number, ${range}` : 'whole number');
  else if (byName.has('isNumber')) parts.push(range ? `number, ${range}` : 'number');
  const isIn = byName.get('isIn');
  if (isIn) parts.push((isIn.constraints[0] as unknown[]).map(code).join(', '));
  const matches = byName.get('matches');
  if (matches) parts.push(message(matches, property) ?? `matches ${code(matches.constraints[0])}`);
  const url = byName.get('isUrl');
  if (url) parts.push(message(url, property) ?? 'an http(s) URL');
  const minLength = byName.get('minLength');
  if (minLength) parts.push(`at least ${number(minLength.constraints[0])} characters`);
  for (const custom of rules.filter((r) => !r.name && r.constraintCls)) {
    const constraint = new (custom.constraintCls as new () => ValidatorConstraintInterface)();
    const text = constraint.defaultMessage?.();
    if (text) parts.push(text.startsWith(`${property} `) ? text.slice(property.length + 1) : text);
  }
  if (parts.length === 0 && byName.has('isString')) parts.push('text');
  return parts.join('; ');
}

interface Row { variable: string; option?: string; default: string; allowed: string; description: string }

/** Every variable of every namespace, first occurrence wins (NODE_ENV and DATA_DIR are shared). */
export function configurationRows(): Array<{ title: string; file: string; rows: Row[]; module: boolean }> {
  const storage = getMetadataStorage();
  // A variable both the server and the module read (OAUTH_RETURN_ORIGINS) is listed with its module option.
  const seen = new Set(allEnvSchemas.filter((s) => s.section !== undefined).flatMap(({ schema }) => [...variablesOf(schema).values()]));
  return allEnvSchemas.map(({ title, file, schema, section }) => {
    const metadata = storage.getTargetValidationMetadatas(schema, '', true, false);
    const variables = variablesOf(schema);
    const defaults = new schema() as Record<string, unknown>;
    const properties = [...new Set(metadata.map((m) => m.propertyName))];
    const variableOf = (p: string): string | undefined => (section === undefined ? p : variables.get(p));
    const rows = properties.filter((p) => section !== undefined || !seen.has(p)).map((property): Row => {
      seen.add(variableOf(property) ?? property);
      const doc = describedVariable(schema, property);
      if (!doc) throw new Error(`${property} (${file}) has no @Describe: say what it is for next to its definition`);
      const value = defaults[property];
      const variable = variableOf(property);
      if (!variable) throw new Error(`option ${optionPath(section ?? '', property)} (${file}) has no @Env: name the standalone server's variable for it`);
      return {
        variable,
        option: section === undefined ? undefined : optionPath(section, property),
        default: doc.default ?? (value === undefined ? 'unset' : code(Array.isArray(value) ? value.join(',') : value)),
        allowed: allowed(property, metadata.filter((m) => m.propertyName === property)),
        description: doc.description,
      };
    });
    return { title, file, rows, module: section !== undefined };
  });
}

/** The whole of docs/configuration.md. */
export function renderConfigurationReference(): string {
  const sections = configurationRows().filter((s) => s.rows.length > 0).map(({ title, file, rows, module }) => [
    `## ${title}`,
    '',
    module ? `Module options (schema: [\`${file}\`](../${file})); the standalone server reads each from its variable.` : `Standalone server only. Schema: [\`${file}\`](../${file}).`,
    '',
    module ? '| Variable | Module option | Default | Allowed | Meaning |' : '| Variable | Default | Allowed | Meaning |',
    module ? '| --- | --- | --- | --- | --- |' : '| --- | --- | --- | --- |',
    ...rows.map((r) => module
      ? `| \`${r.variable}\` | \`${r.option}\` | ${cell(r.default)} | ${cell(r.allowed)} | ${cell(r.description)} |`
      : `| \`${r.variable}\` | ${cell(r.default)} | ${cell(r.allowed)} | ${cell(r.description)} |`),
    '',
  ].join('\n'));
  return [
    '<!-- Generated by `npm run docs:config` from the *.config.ts files (src/config/, src/integrations/jira/config/); edit the @Describe next to a variable, not this page. -->',
    '# Configuration reference',
    '',
    'You want to set a variable or a module option, or know what one does. Every variable the standalone server',
    'reads and every option of `JiraIntegrationModule` is here, with its default and the values start-up accepts,',
    'generated from the validated schemas (the module\'s options schema in `src/integrations/jira/config/`, whose',
    'properties name their variable with `@Env`, and the server\'s own `*Env` classes in `src/config/`), so this page',
    'cannot drift from the code: `npm run docs:check` fails when it does.',
    '',
    'Set them in the environment or in `.env` (copy `.env.example`; read by the server and the CLI; real',
    'environment variables win; ignored by the tests). Empty values count as unset. Every problem is',
    'reported at start-up at once, one line per variable (see [getting-started.md](getting-started.md#start-up-errors)).',
    'A host app embedding the module passes the options in the "Module option" column instead, and its problems',
    'are reported by option name ([embedding.md](embedding.md#options)). The ports (`teamAccessPolicy`, `currentUser`,',
    '`notificationOutbox`, `metrics`, `rateLimit.storage`) and `production` are objects or flags a host passes; they',
    'are described in [embedding.md](embedding.md#options).',
    '',
    ...sections,
  ].join('\n');
}
