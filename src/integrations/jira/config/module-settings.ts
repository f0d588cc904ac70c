import { AtlassianOptions, LifecycleOptions, resolveJiraSettings, ReturnOptions, TokenOptions, type JiraSettings } from './jira.config.js';
import { EncryptionOptions, resolveEncryptionSettings, type EncryptionKey, type EncryptionSettings } from './encryption.config.js';
import { AtlassianRateLimitOptions, resolveJiraRateLimitSettings, type JiraRateLimitSettings } from './jira-rate-limit.config.js';
import { resolveWebhookSettings, WebhookOptions, type JiraWebhookSettings } from './jira-webhooks.config.js';
import { ProxyOptions, resolveProxySettings, type JiraProxySettings } from './jira-proxy.config.js';
import { NotificationOptions, resolveNotifySettings, type NotifySettings } from './notify.config.js';
import { RateLimitOptions, resolveRateLimitSettings, resolveRedisSettings, type RateLimitSettings, type RedisSettings } from './rate-limit.config.js';
import { optionPath, propertiesOf, readSection, variablesOf, type Namer } from './option-schema.js';
import { EnvValidationError } from './validate-env.js';

/**
 * Everything the module's services read, validated once from the options at start: the one
 * module-owned settings token (`JIRA_SETTINGS`). Services take the section they need.
 */
export interface JiraModuleSettings {
  jira: JiraSettings;
  encryption: EncryptionSettings;
  rateLimit: RateLimitSettings;
  redis: RedisSettings;
  atlassianRateLimit: JiraRateLimitSettings;
  notify: NotifySettings;
  webhooks: JiraWebhookSettings;
  proxy: JiraProxySettings;
  /** Refuse to start with stored credentials under a key the module does not have. */
  production: boolean;
  routePrefix: string;
}

/** Injection token of the validated settings (`@Inject(JIRA_SETTINGS) settings: JiraModuleSettings`). */
export const JIRA_SETTINGS = 'JIRA_INTEGRATION_SETTINGS';

/**
 * The sections of the options schema, in the order the configuration reference lists them:
 * `section` is the options key (`''` for the top level), `title` the reference's heading, `file`
 * the schema's file from the repository root.
 */
export const OPTION_SECTIONS: ReadonlyArray<{ section: string; title: string; schema: new () => object; file: string }> = [
  { section: 'encryption', title: 'Encryption at rest', schema: EncryptionOptions, file: 'src/integrations/jira/config/encryption.config.ts' },
  { section: 'atlassian', title: 'Atlassian app', schema: AtlassianOptions, file: 'src/integrations/jira/config/jira.config.ts' },
  { section: 'tokens', title: 'Tokens', schema: TokenOptions, file: 'src/integrations/jira/config/jira.config.ts' },
  { section: 'lifecycle', title: 'Consent and personal data', schema: LifecycleOptions, file: 'src/integrations/jira/config/jira.config.ts' },
  { section: '', title: 'Where the browser returns', schema: ReturnOptions, file: 'src/integrations/jira/config/jira.config.ts' },
  { section: 'atlassianRateLimit', title: 'Atlassian rate limits (the governor)', schema: AtlassianRateLimitOptions, file: 'src/integrations/jira/config/jira-rate-limit.config.ts' },
  { section: 'rateLimit', title: 'Our own rate limits, and Redis', schema: RateLimitOptions, file: 'src/integrations/jira/config/rate-limit.config.ts' },
  { section: 'proxy', title: 'Jira proxies', schema: ProxyOptions, file: 'src/integrations/jira/config/jira-proxy.config.ts' },
  { section: 'webhooks', title: 'Jira webhooks', schema: WebhookOptions, file: 'src/integrations/jira/config/jira-webhooks.config.ts' },
  { section: 'notifications', title: 'Notifications to the product', schema: NotificationOptions, file: 'src/integrations/jira/config/notify.config.ts' },
];

/** Top-level options that are not settings: the host's ports and objects. */
const PORT_OPTIONS = ['teamAccessPolicy', 'currentUser', 'notificationOutbox', 'metrics', 'production'];

const NAMER = Symbol.for('jira-connect.option-names');

/**
 * Options built from an environment name their problems by variable: `namer` says how. Not
 * enumerable, so the options read the same to anything else.
 */
export function withNamer<T extends object>(options: T, namer: Namer): T {
  Object.defineProperty(options, NAMER, { value: namer, enumerable: false });
  return options;
}

/** Every option path with its variable: `atlassian.clientId` → `JIRA_CLIENT_ID`. */
export function optionVariables(): Map<string, string> {
  const out = new Map<string, string>();
  for (const { section, schema } of OPTION_SECTIONS) {
    for (const [property, variable] of variablesOf(schema)) out.set(optionPath(section, property), variable);
  }
  return out;
}

type OptionsLike = Record<string, unknown> & { [NAMER]?: Namer };

/** The `encryption` section's own checks (it is not read through readSection, which would copy a Buffer). */
function encryptionValues(values: Record<string, unknown> | undefined, name: Namer, problems: string[], strict: boolean) {
  if (!values) return undefined;
  if (strict) {
    for (const key of Object.keys(values)) {
      if (key !== 'currentKey' && key !== 'previousKeys') problems.push(`${name('encryption', key)} is not an option (encryption takes currentKey, previousKeys)`);
    }
  }
  const previous = values.previousKeys;
  if (previous !== undefined && typeof previous !== 'string' && !Array.isArray(previous)) {
    problems.push(`${name('encryption', 'previousKeys')} must be a list of keys (Buffers or base64 text)`);
    return { currentKey: values.currentKey as EncryptionKey | undefined };
  }
  return values as Parameters<typeof resolveEncryptionSettings>[0];
}

/**
 * The module options, validated against the schema once, every problem at once: in option paths
 * for a host (`JiraIntegrationModule options: tokens.keepAliveDays must not be greater than 80`),
 * in variable names for options built from an environment (`JIRA_KEEPALIVE_DAYS must not be …`).
 */
export function resolveModuleSettings(options: object, routePrefix: string): JiraModuleSettings {
  const o = options as OptionsLike;
  const name = o[NAMER] ?? optionPath;
  const fromEnvironment = o[NAMER] !== undefined;
  const problems: string[] = [];
  const topLevel = new Set(propertiesOf(ReturnOptions));
  if (!fromEnvironment) {
    const known = new Set([...OPTION_SECTIONS.map((s) => s.section).filter(Boolean), ...topLevel, ...PORT_OPTIONS]);
    for (const key of Object.keys(o)) if (!known.has(key)) problems.push(`${key} is not an option`);
  }
  // A section given as something other than an object is one problem, and then read as unset.
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
  const sectionValues = (key: string): Record<string, unknown> | undefined => {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    if (isObject(v)) return v;
    problems.push(`${key} must be an object`);
    return undefined;
  };
  const section = <T extends object>(cls: new () => T, key: string, omit: string[] = []): T => {
    const values = key ? sectionValues(key) : Object.fromEntries([...topLevel].map((p) => [p, o[p]]));
    const own = values ? Object.fromEntries(Object.entries(values).filter(([k]) => !omit.includes(k))) : undefined;
    return readSection(cls, key, own, name, problems, !fromEnvironment);
  };
  const atlassian = section(AtlassianOptions, 'atlassian');
  const tokens = section(TokenOptions, 'tokens');
  const lifecycle = section(LifecycleOptions, 'lifecycle');
  const returns = section(ReturnOptions, '');
  // `storage` is an object (the host's ThrottlerStorage), not a setting.
  const rateLimit = section(RateLimitOptions, 'rateLimit', ['storage']);
  const settings: JiraModuleSettings = {
    encryption: resolveEncryptionSettings(encryptionValues(sectionValues('encryption'), name, problems, !fromEnvironment), name, problems),
    jira: resolveJiraSettings(atlassian, tokens, lifecycle, returns, routePrefix, name, problems),
    rateLimit: resolveRateLimitSettings(rateLimit),
    redis: resolveRedisSettings(rateLimit),
    atlassianRateLimit: resolveJiraRateLimitSettings(section(AtlassianRateLimitOptions, 'atlassianRateLimit')),
    notify: resolveNotifySettings(section(NotificationOptions, 'notifications'), name, problems),
    webhooks: resolveWebhookSettings(section(WebhookOptions, 'webhooks'), name, problems),
    proxy: resolveProxySettings(section(ProxyOptions, 'proxy'), name, problems),
    production: typeof o.production === 'boolean' ? o.production : process.env.NODE_ENV === 'production',
    routePrefix,
  };
  if (problems.length > 0) {
    throw new EnvValidationError(fromEnvironment ? problems : problems.map((p) => `JiraIntegrationModule options: ${p}`));
  }
  return settings;
}
