import type { Type } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { Request } from 'express';
import type { EncryptionKey } from './config/encryption.config.js';
import type { MetricsService } from './metrics/metrics.service.js';
import type { NotificationOutbox } from './notifications/notification-outbox.js';
import type { TeamAccessPolicy } from './teams/team-access.policy.js';

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

/** Token upkeep (docs/configuration.md lists each option's default, bounds and variable). */
export interface JiraTokenOptions {
  keepAliveDays?: number;
  refreshLockTimeoutMs?: number;
  refreshMaxAttempts?: number;
  refreshBackoffMs?: number;
  retryBudgetMs?: number;
  /** Refreshes in flight at once per process. Default 50. */
  refreshConcurrency?: number;
  /** How often interrupted refreshes are looked for and finished, 1 to 300 s. Default 60. */
  refreshRecoverySeconds?: number;
  /** A Jira 401 for a token a 401-triggered refresh got less than this long ago is 502 `jira_scope_insufficient`. Default 600. */
  unauthorizedRefreshWindowSeconds?: number;
}

/** The Atlassian rate-limit governor in front of every Jira call (docs/rate-limits.md). */
export interface JiraAtlassianRateLimitOptions {
  /** The app's global points pool. Default 65000. */
  appPointsPerHour?: number;
  /** Largest share of the pool one Jira site takes while others contend, 0.01 to 1. Default 0.5. */
  tenantMaxShare?: number;
  /** The pool's accounting window (Atlassian's is an hour); shorten only against a fake. Default 3600. */
  quotaWindowSeconds?: number;
  /** Per-second limit of one endpoint assumed until Atlassian reports it. Default 10. */
  burstPerSecond?: number;
  /** Bound of each Redis command of the governor's shared state. Default 250. */
  redisTimeoutMs?: number;
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

export type { EncryptionKey };

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
  /** Origins (`https://app.example.com`) that `returnTo` may point at. Default none: `returnTo` is refused. */
  returnOrigins?: readonly string[];
  /**
   * Where a callback with an unknown, expired or absent `state` sends the browser
   * (`?jira=error&code=…`); must be on one of `returnOrigins`. Unset: such a callback answers
   * problem JSON, and the browser is left on it.
   */
  defaultReturnUrl?: string;
  tokens?: JiraTokenOptions;
  lifecycle?: JiraLifecycleOptions;
  rateLimit?: JiraRateLimitOptions;
  notifications?: JiraNotificationOptions;
  webhooks?: JiraWebhookModuleOptions;
  /**
   * The notifications port: your own outbox, whose sender runs elsewhere; the module then runs no
   * sender of its own and ignores `notifications`. Default: the module's outbox and sender.
   */
  notificationOutbox?: NotificationOutbox;
  /**
   * Production refuses to start when stored credentials are under a key it does not have; other
   * environments warn. Default: NODE_ENV is `production`.
   */
  production?: boolean;
  /** Where the module records its Prometheus metrics; default a MetricsService of its own (exported). */
  metrics?: MetricsService;
  /** The Atlassian rate-limit governor; it shares state through `rateLimit.redisUrl`. */
  atlassianRateLimit?: JiraAtlassianRateLimitOptions;
  proxy?: JiraProxyOptions;
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
