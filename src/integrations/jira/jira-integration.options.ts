import type { Type } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { Request } from 'express';
import { decodeKey, type EncryptionSettings } from './config/encryption.config.js';
import { JIRA_CALLBACK_PATH, readJiraSettings, type JiraSettings } from './config/jira.config.js';
import { readNotifySettings, type NotifySettings } from './config/notify.config.js';
import { readJiraRateLimitSettings, type JiraRateLimitSettings } from './config/jira-rate-limit.config.js';
import { readRateLimitSettings, type RateLimitSettings } from './config/rate-limit.config.js';
import { EnvValidationError } from './config/validate-env.js';
import type { MetricsService } from './metrics/metrics.service.js';
import type { NotificationOutbox } from './notifications/notification-outbox.js';
import type { TeamAccessPolicy } from './teams/team-access.policy.js';
import { readJiraWebhookSettings, type JiraWebhookSettings } from './config/jira-webhooks.config.js';
import { readJiraProxySettings, type JiraProxySettings } from './config/jira-proxy.config.js';

/** Where the connect-flow routes live unless `routePrefix` says otherwise. */
export const DEFAULT_ROUTE_PREFIX = 'api/integrations/jira';

/** The Atlassian OAuth 2.0 (3LO) app, as registered in the developer console. */
export interface AtlassianAppOptions {
  /** Without clientId, clientSecret and redirectUri, `authorize` answers 503 `jira_not_configured`. */
  clientId?: string;
  clientSecret?: string;
  /** Must equal the callback URL registered at Atlassian: `https://<host>/<routePrefix>/oauth/callback`. */
  redirectUri?: string;
  /** Must include `offline_access`. Default `read:jira-user read:jira-work offline_access`. */
  scopes?: readonly string[];
  /** Default `https://auth.atlassian.com`. */
  authBaseUrl?: string;
  /** Default `https://api.atlassian.com`. */
  apiBaseUrl?: string;
  /** Timeout of every call to Atlassian, default 10000. */
  httpTimeoutMs?: number;
}

/** Token upkeep; every field has the default of its JIRA_* variable (docs/configuration.md). */
export interface JiraTokenOptions {
  keepAliveDays?: number;
  refreshLockTimeoutMs?: number;
  refreshMaxAttempts?: number;
  refreshBackoffMs?: number;
  retryBudgetMs?: number;
}

/** Connections that outlive a moment (docs/service-accounts.md: consent expiry, personal data); defaults as the JIRA_* variables. */
export interface JiraLifecycleOptions {
  /** Days before the 365-day consent expiry at which `reconsent_due` goes out. Default [30, 7]. */
  reconsentNoticeDays?: readonly number[];
  /** Report each stored Atlassian account this often, in days (1 to 7). Default 7. */
  personalDataReportDays?: number;
  /** Total deadline of one report request, Retry-After waits included. Default 60000. */
  personalDataCallDeadlineMs?: number;
}

export interface JiraRateLimitOptions {
  /** Default 60. */
  windowSeconds?: number;
  /** authorize / site / disconnect / status?verify=true per user per window, default 20. */
  perUser?: number;
  /** Callback requests per client IP per window, default 30. */
  callbackPerIp?: number;
  /** Jira proxy requests per user per window, default 300. */
  proxyPerUser?: number;
  /** Share counters across instances through this Redis; unset keeps them in process memory. */
  redisUrl?: string;
  /** Bounds of every Redis wait, as REDIS_COMMAND_TIMEOUT_MS / REDIS_CONNECT_TIMEOUT_MS: 1000, 1000. */
  redisCommandTimeoutMs?: number;
  redisConnectTimeoutMs?: number;
  /** Or bring your own @nestjs/throttler storage (wins over redisUrl). */
  storage?: ThrottlerStorage;
}

/** Signed, durable notifications of connection changes to your backend (docs/notifications.md). */
export interface JiraNotificationOptions {
  /** Where they are POSTed; unset = none are recorded or sent. */
  webhookUrl?: string;
  /** HMAC-SHA256 key of the signature (at least 32 characters); required with webhookUrl. */
  secret?: string;
  /** As the NOTIFY_* variables: 10000, 30000, 10000, 3600000, 72. */
  timeoutMs?: number;
  pollIntervalMs?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  retryForHours?: number;
}

/**
 * Managed Jira webhooks (docs/webhooks.md). Handlers are declared with `@OnJiraWebhook` on
 * provider methods; these options say where Jira delivers and, optionally, one subscription from
 * configuration (as the standalone server's JIRA_WEBHOOK_* variables).
 */
export interface JiraWebhookModuleOptions {
  /** The public URL Jira delivers to: this module's `<routePrefix>/webhooks` route. Unset = nothing is registered. */
  url?: string;
  /** A configured subscription, forwarded through the notifications (standalone server style). */
  events?: readonly string[];
  jql?: string;
  fieldIds?: readonly string[];
  /** As the JIRA_WEBHOOK_* variables of the same names. */
  checkHours?: number;
  jobIntervalSeconds?: number;
  maxAttempts?: number;
  retryBaseMs?: number;
  handlerTimeoutMs?: number;
  leaseMs?: number;
  pollMs?: number;
  maxBodyKb?: number;
  jwtMaxLifetimeSeconds?: number;
}

/** The Jira proxy (docs/proxy.md); mount its SPA route with the `jiraProxy: true` extra of forRoot/forRootAsync. */
export interface JiraProxyOptions {
  /** As JIRA_PROXY_RULES: `METHOD /rest/pattern [role]` entries. Default `GET /rest/api/3/**, GET /rest/agile/1.0/**`. */
  rules?: string;
  /** As JIRA_ADMIN_PROXY_RULES (for JiraProxyService.forward with no team role). Default `* /rest/**`. */
  adminRules?: string;
  /** As JIRA_PROXY_MAX_REQUEST_KB / JIRA_PROXY_MAX_RESPONSE_KB: 1024, 10240. */
  maxRequestKb?: number;
  maxResponseKb?: number;
}

/** A 32-byte key: a Buffer, or base64 text (`openssl rand -base64 32`). */
export type EncryptionKey = Buffer | string;

export interface JiraIntegrationModuleOptions {
  atlassian: AtlassianAppOptions;
  /** Encrypts tokens at rest. Keep retired keys in `previousKeys` until `keys:rotate` has run. */
  encryption: { currentKey: EncryptionKey; previousKeys?: readonly EncryptionKey[] };
  /**
   * Who may do what in a team: a class (instantiated inside the module; it may inject the
   * DataSource and other global providers) or an instance (e.g. from `forRootAsync`'s `inject`).
   * Default: the `team_members` table.
   */
  teamAccessPolicy?: Type<TeamAccessPolicy> | TeamAccessPolicy;
  /**
   * The signed-in user's id for a request. Default: `req.user.id`, as set by your authentication
   * guard or middleware. A number is used as its decimal string. Return null when nobody is signed in.
   */
  currentUser?: (req: Request) => string | number | null | undefined;
  /** Origins (`https://app.example.com`) that `returnTo` may point at. */
  returnOrigins?: readonly string[];
  tokens?: JiraTokenOptions;
  lifecycle?: JiraLifecycleOptions;
  rateLimit?: JiraRateLimitOptions;
  notifications?: JiraNotificationOptions;
  webhooks?: JiraWebhookModuleOptions;
  /**
   * Advanced: an outbox that already has its worker (the standalone server's NotificationsModule);
   * the module then runs no worker of its own and ignores `notifications`.
   */
  notificationOutbox?: NotificationOutbox;
  /**
   * Production refuses to start when stored credentials are under a key it does not have; other
   * environments warn. Default: NODE_ENV is `production`.
   */
  production?: boolean;
  /** Where the module records its Prometheus metrics; default a MetricsService of its own (exported). */
  metrics?: MetricsService;
  /**
   * Advanced: the Atlassian rate-limit governor's settings (config/jira-rate-limit.config.ts,
   * the JIRA_RATE_* variables' defaults otherwise); it shares state through `rateLimit.redisUrl`.
   */
  atlassianRateLimit?: Partial<JiraRateLimitSettings>;
  /**
   * Advanced: JiraSettings fields (config/jira.config.ts) merged over the ones derived above.
   * The standalone server passes its whole validated `jira` namespace, so every JIRA_* variable,
   * including ones added later, reaches the module unchanged.
   */
  jiraSettings?: Partial<JiraSettings>;
  proxy?: JiraProxyOptions;
  /** Advanced: proxy settings already read from JIRA_PROXY_* (the standalone server); wins over `proxy`. */
  proxySettings?: JiraProxySettings;
  /** Advanced: webhook settings already read from JIRA_WEBHOOK_* (the standalone server); wins over `webhooks`. */
  webhookSettings?: JiraWebhookSettings;
}

export interface JiraIntegrationModuleExtras {
  /** Path of the module's routes, without leading or trailing slash. Default `api/integrations/jira`. */
  routePrefix?: string;
  /** Mount the SPA's Jira proxy, `<routePrefix>/proxy/{jiraPath}` (docs/proxy.md). Default false. */
  jiraProxy?: boolean;
}

/** The route prefix, provided by the module definition (it is a static extra). */
export const JIRA_ROUTE_PREFIX = 'JIRA_INTEGRATION_ROUTE_PREFIX';

/** Injection token of the options (the module's ConfigurableModuleBuilder uses it). */
export const JIRA_MODULE_OPTIONS = 'JIRA_INTEGRATION_MODULE_OPTIONS';

/** The redirect URI with the module's callback path swapped for the default one, or unchanged when it does not end in it. */
function asDefaultCallback(redirectUri: string, routePrefix: string): string {
  const callback = `/${routePrefix.replace(/^\/+|\/+$/g, '')}/oauth/callback`;
  return redirectUri.endsWith(callback) ? redirectUri.slice(0, -callback.length) + JIRA_CALLBACK_PATH : redirectUri;
}

const optional = (value: number | string | undefined): string | undefined => (value === undefined ? undefined : String(value));

/** Bad options stop start-up with the option's name, as a bad environment variable does. */
function asOptionError(err: unknown): never {
  if (err instanceof EnvValidationError) {
    throw new EnvValidationError(err.problems.map((p) => `JiraIntegrationModule options: ${p}`));
  }
  throw err;
}

/**
 * The settings the services read (`@Inject(jiraConfig.KEY)`), from the module options, through
 * the same validation and defaults as the JIRA_* variables.
 */
export function jiraSettingsFrom(options: JiraIntegrationModuleOptions, routePrefix = DEFAULT_ROUTE_PREFIX): JiraSettings {
  const { atlassian: a, tokens: t = {}, lifecycle: l = {} } = options;
  let derived: JiraSettings;
  try {
    derived = readJiraSettings({
      JIRA_CLIENT_ID: a.clientId,
      JIRA_CLIENT_SECRET: a.clientSecret,
      // Checked against the module's own callback route (the variable's check knows only the default one).
      JIRA_REDIRECT_URI: a.redirectUri === undefined ? undefined : asDefaultCallback(a.redirectUri, routePrefix),
      JIRA_SCOPES: a.scopes?.join(' '),
      JIRA_AUTH_BASE_URL: a.authBaseUrl,
      JIRA_API_BASE_URL: a.apiBaseUrl,
      JIRA_HTTP_TIMEOUT_MS: optional(a.httpTimeoutMs),
      JIRA_KEEPALIVE_DAYS: optional(t.keepAliveDays),
      JIRA_REFRESH_LOCK_TIMEOUT_MS: optional(t.refreshLockTimeoutMs),
      JIRA_REFRESH_MAX_ATTEMPTS: optional(t.refreshMaxAttempts),
      JIRA_REFRESH_BACKOFF_MS: optional(t.refreshBackoffMs),
      JIRA_RETRY_BUDGET_MS: optional(t.retryBudgetMs),
      JIRA_RECONSENT_NOTICE_DAYS: l.reconsentNoticeDays?.join(','),
      JIRA_PERSONAL_DATA_REPORT_DAYS: optional(l.personalDataReportDays),
      JIRA_PERSONAL_DATA_CALL_DEADLINE_MS: optional(l.personalDataCallDeadlineMs),
      OAUTH_RETURN_ORIGINS: options.returnOrigins?.join(','),
    });
  } catch (err) {
    asOptionError(err);
  }
  return { ...derived, ...(a.redirectUri === undefined ? {} : { redirectUri: a.redirectUri }), ...options.jiraSettings };
}

const toKey = (key: EncryptionKey, name: string): Buffer => {
  if (!Buffer.isBuffer(key)) return decodeKey(key, name);
  if (key.length !== 32) throw new EnvValidationError([`${name} must be exactly 32 bytes`]);
  return key;
};

export function encryptionSettingsFrom(options: JiraIntegrationModuleOptions): EncryptionSettings {
  try {
    if (!options.encryption?.currentKey) throw new EnvValidationError(['encryption.currentKey is required (32 bytes, base64)']);
    return {
      currentKey: toKey(options.encryption.currentKey, 'encryption.currentKey'),
      previousKeys: (options.encryption.previousKeys ?? []).map((k) => toKey(k, 'encryption.previousKeys')),
    };
  } catch (err) {
    asOptionError(err);
  }
}

export function rateLimitSettingsFrom(options: JiraIntegrationModuleOptions): RateLimitSettings {
  const r = options.rateLimit ?? {};
  try {
    return readRateLimitSettings({
      JIRA_RATE_LIMIT_WINDOW_SECONDS: optional(r.windowSeconds),
      JIRA_RATE_LIMIT_PER_USER: optional(r.perUser),
      JIRA_RATE_LIMIT_CALLBACK_PER_IP: optional(r.callbackPerIp),
      JIRA_PROXY_RATE_LIMIT_PER_USER: optional(r.proxyPerUser),
    });
  } catch (err) {
    asOptionError(err);
  }
}

export function webhookSettingsFrom(options: JiraIntegrationModuleOptions): JiraWebhookSettings {
  if (options.webhookSettings) return options.webhookSettings;
  const w = options.webhooks ?? {};
  try {
    return readJiraWebhookSettings({
      JIRA_WEBHOOK_URL: w.url,
      JIRA_WEBHOOK_EVENTS: w.events?.join(','),
      JIRA_WEBHOOK_JQL: w.jql,
      JIRA_WEBHOOK_FIELD_IDS: w.fieldIds?.join(','),
      JIRA_WEBHOOK_CHECK_HOURS: optional(w.checkHours),
      JIRA_WEBHOOK_JOB_INTERVAL_SECONDS: optional(w.jobIntervalSeconds),
      JIRA_WEBHOOK_MAX_ATTEMPTS: optional(w.maxAttempts),
      JIRA_WEBHOOK_RETRY_BASE_MS: optional(w.retryBaseMs),
      JIRA_WEBHOOK_HANDLER_TIMEOUT_MS: optional(w.handlerTimeoutMs),
      JIRA_WEBHOOK_LEASE_MS: optional(w.leaseMs),
      JIRA_WEBHOOK_POLL_MS: optional(w.pollMs),
      JIRA_WEBHOOK_MAX_BODY_KB: optional(w.maxBodyKb),
      JIRA_WEBHOOK_JWT_MAX_LIFETIME_SECONDS: optional(w.jwtMaxLifetimeSeconds),
    });
  } catch (err) {
    asOptionError(err);
  }
}

export function proxySettingsFrom(options: JiraIntegrationModuleOptions): JiraProxySettings {
  if (options.proxySettings) return options.proxySettings;
  const p = options.proxy ?? {};
  try {
    return readJiraProxySettings({
      JIRA_PROXY_RULES: p.rules,
      JIRA_ADMIN_PROXY_RULES: p.adminRules,
      JIRA_PROXY_MAX_REQUEST_KB: optional(p.maxRequestKb),
      JIRA_PROXY_MAX_RESPONSE_KB: optional(p.maxResponseKb),
    });
  } catch (err) {
    asOptionError(err);
  }
}

export function notifySettingsFrom(options: JiraIntegrationModuleOptions): NotifySettings {
  const n = options.notifications ?? {};
  try {
    return readNotifySettings({
      NOTIFY_WEBHOOK_URL: n.webhookUrl,
      NOTIFY_WEBHOOK_SECRET: n.secret,
      NOTIFY_TIMEOUT_MS: optional(n.timeoutMs),
      NOTIFY_POLL_INTERVAL_MS: optional(n.pollIntervalMs),
      NOTIFY_RETRY_BASE_MS: optional(n.retryBaseMs),
      NOTIFY_RETRY_MAX_MS: optional(n.retryMaxMs),
      NOTIFY_RETRY_FOR_HOURS: optional(n.retryForHours),
    });
  } catch (err) {
    asOptionError(err);
  }
}

export function atlassianRateLimitSettingsFrom(options: JiraIntegrationModuleOptions): JiraRateLimitSettings {
  try {
    return { ...readJiraRateLimitSettings({}), ...options.atlassianRateLimit };
  } catch (err) {
    asOptionError(err);
  }
}

/** The shape of the `redis` namespace, for the governor's shared state. */
export function redisSettingsFrom(options: JiraIntegrationModuleOptions): { url?: string; commandTimeoutMs: number; connectTimeoutMs: number } {
  const r = options.rateLimit ?? {};
  return { url: r.redisUrl, commandTimeoutMs: r.redisCommandTimeoutMs ?? 1000, connectTimeoutMs: r.redisConnectTimeoutMs ?? 1000 };
}
