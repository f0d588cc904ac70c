import { Transform } from 'class-transformer';
import { IsInt, IsOptional, IsString, IsUrl, Max, Min } from 'class-validator';
import { EnvValidationError, isPlaceholder, parseOrigins } from './validate-env.js';
import { asList, asNumberList, Env, type Namer } from './option-schema.js';
import { Describe } from './describe.js';

const HTTP_URL = { require_tld: false, protocols: ['http', 'https'], require_protocol: true };

/** The default callback route (JiraOAuthController under the default prefix); Atlassian sends the browser back here. */
export const JIRA_CALLBACK_PATH = '/api/integrations/jira/oauth/callback';

/** `atlassian`: the Atlassian OAuth 2.0 (3LO) app, as registered in the developer console. */
export class AtlassianOptions {
  @Env('JIRA_CLIENT_ID')
  @IsOptional()
  @IsString()
  @Describe('the Atlassian 3LO app\'s client id; without id, secret and redirect URI `authorize` answers 503 `jira_not_configured`')
  clientId?: string;

  @Env('JIRA_CLIENT_SECRET')
  @IsOptional()
  @IsString()
  @Describe('the Atlassian 3LO app\'s secret; also verifies the JWT of Jira webhook deliveries')
  clientSecret?: string;

  /** Must equal the callback URL registered in the Atlassian developer console. */
  @Env('JIRA_REDIRECT_URI')
  @IsOptional()
  @IsUrl(HTTP_URL, { message: '$property must be an absolute http(s) URL' })
  @Describe('must equal the callback URL registered in the developer console, and end in the module\'s callback route, `/api/integrations/jira/oauth/callback` by default (any prefix of a reverse proxy before it)')
  redirectUri?: string;

  @Env('JIRA_SCOPES')
  @Transform(({ obj, key }) => asList((obj as Record<string, unknown>)[key], /[\s,]+/))
  @IsString({ each: true })
  @Describe('scopes asked for (space-separated in the variable); must include `offline_access` (no refresh token otherwise); add `read:me` to record who connected, `manage:jira-webhook` for webhooks', { default: '`read:jira-user read:jira-work offline_access`' })
  scopes: string[] = ['read:jira-user', 'read:jira-work', 'offline_access'];

  @Env('JIRA_AUTH_BASE_URL')
  @IsUrl(HTTP_URL, { message: '$property must be an absolute http(s) URL' })
  @Describe('authorize and token endpoints')
  authBaseUrl: string = 'https://auth.atlassian.com';

  @Env('JIRA_API_BASE_URL')
  @IsUrl(HTTP_URL, { message: '$property must be an absolute http(s) URL' })
  @Describe('accessible-resources, `/me`, the Jira REST gateway')
  apiBaseUrl: string = 'https://api.atlassian.com';

  @Env('JIRA_HTTP_TIMEOUT_MS')
  @IsInt()
  @Min(100)
  @Max(120_000)
  @Describe('total deadline of every call to Atlassian (connect, headers and body together)')
  httpTimeoutMs: number = 10_000;
}

/** `tokens`: token upkeep. */
export class TokenOptions {
  /** Refresh integrations idle this long so Atlassian's 90-day inactivity expiry never hits. */
  @Env('JIRA_KEEPALIVE_DAYS')
  @IsInt()
  @Min(1)
  @Max(80)
  @Describe('refresh integrations idle this long (Atlassian expires refresh tokens after 90 idle days)')
  keepAliveDays: number = 30;

  @Env('JIRA_REFRESH_LOCK_TIMEOUT_MS')
  @IsInt()
  @Min(100)
  @Max(300_000)
  @Describe('the most any `getAccessToken` call takes, whatever it waits on (another caller\'s refresh, a refresh slot, another process\'s lease, backoff); then 503 `jira_refresh_lock_timeout`')
  refreshLockTimeoutMs: number = 15_000;

  @Env('JIRA_REFRESH_MAX_ATTEMPTS')
  @IsInt()
  @Min(1)
  @Max(10)
  @Describe('token-endpoint attempts per refresh on 5xx/429/network errors (1 = no retry)')
  refreshMaxAttempts: number = 4;

  @Env('JIRA_REFRESH_BACKOFF_MS')
  @IsInt()
  @Min(1)
  @Max(60_000)
  @Describe('first retry delay; doubles per attempt, jittered, never below `Retry-After`')
  refreshBackoffMs: number = 500;

  @Env('JIRA_RETRY_BUDGET_MS')
  @IsInt()
  @Min(0)
  @Max(300_000)
  @Describe('total time a caller spends waiting between retries (token refresh), and how long a Jira call may wait for Atlassian\'s rate limits before 503 `atlassian_rate_limited`')
  retryBudgetMs: number = 20_000;

  @Env('JIRA_REFRESH_CONCURRENCY')
  @IsInt()
  @Min(1)
  @Max(1000)
  @Describe('refreshes in flight at once per process, independent of the database pool')
  refreshConcurrency: number = 50;

  /** Must stay well inside Atlassian's 10-minute reuse leeway, hence at most 5 minutes. */
  @Env('JIRA_REFRESH_RECOVERY_SECONDS')
  @IsInt()
  @Min(1)
  @Max(300)
  @Describe('how often interrupted refreshes are looked for and finished: one sweep per period across all instances (always well inside Atlassian\'s 10-minute reuse leeway)')
  refreshRecoverySeconds: number = 60;

  @Env('JIRA_UNAUTHORIZED_REFRESH_WINDOW_SECONDS')
  @IsInt()
  @Min(0)
  @Max(86_400)
  @Describe('a Jira 401 for a token a 401-triggered refresh obtained less than this long ago answers 502 `jira_scope_insufficient` without another refresh')
  unauthorizedRefreshWindowSeconds: number = 600;
}

/** `lifecycle`: connections that outlive a moment (consent expiry, personal-data reporting). */
export class LifecycleOptions {
  @Env('JIRA_RECONSENT_NOTICE_DAYS')
  @Transform(({ obj, key }) => asNumberList((obj as Record<string, unknown>)[key]))
  @IsInt({ each: true, message: '$property must be whole days, e.g. 30,7' })
  @Min(1, { each: true, message: '$property must be between 1 and 364 days' })
  @Max(364, { each: true, message: '$property must be between 1 and 364 days' })
  @Describe('days before the 365-day consent expiry at which `reconsent_due` goes out (comma-separated in the variable); each once per consent', { default: '`30,7`' })
  reconsentNoticeDays: number[] = [30, 7];

  @Env('JIRA_PERSONAL_DATA_REPORT_DAYS')
  @IsInt()
  @Min(1)
  @Max(7)
  @Describe('report each stored Atlassian account to Atlassian\'s personal-data reporting API this often')
  personalDataReportDays: number = 7;

  @Env('JIRA_PERSONAL_DATA_CALL_DEADLINE_MS')
  @IsInt()
  @Min(1000)
  @Max(600_000)
  @Describe('total deadline of one report request, waits and retries included')
  personalDataCallDeadlineMs: number = 60_000;
}

/** The top level's settings: where the browser may be sent back to. */
export class ReturnOptions {
  @Env('OAUTH_RETURN_ORIGINS')
  @Transform(({ obj, key }) => asList((obj as Record<string, unknown>)[key]))
  @IsString({ each: true })
  @Describe('origins (`https://app.example.com`) that `returnTo` may point at (comma-separated in the variable; also the default of `CORS_ORIGINS`)', { default: 'none' })
  returnOrigins: string[] = [];

  @Env('OAUTH_DEFAULT_RETURN_URL')
  @IsOptional()
  @IsUrl(HTTP_URL, { message: '$property must be an absolute http(s) URL' })
  @Describe('where a callback with an unknown or absent state sends the browser (`?jira=error&code=…`); must be on one of `returnOrigins`. Unset: problem JSON')
  defaultReturnUrl?: string;
}

export interface JiraSettings {
  clientId?: string;
  clientSecret?: string;
  redirectUri?: string;
  /** True when client id, secret and redirect URI are all set. */
  configured: boolean;
  scopes: string[];
  authBaseUrl: string;
  apiBaseUrl: string;
  keepAliveDays: number;
  httpTimeoutMs: number;
  refreshLockTimeoutMs: number;
  refreshMaxAttempts: number;
  refreshBackoffMs: number;
  retryBudgetMs: number;
  refreshConcurrency: number;
  refreshRecoverySeconds: number;
  unauthorizedRefreshWindowMs: number;
  /** Days before consent expiry at which `reconsent_due` is sent, largest first. */
  reconsentNoticeDays: number[];
  personalDataReportDays: number;
  personalDataCallDeadlineMs: number;
  returnOrigins: string[];
  /** OAUTH_DEFAULT_RETURN_URL, or null: callbacks of unknown flows then answer problem JSON. */
  defaultReturnUrl: string | null;
}

/** The settings the services read, from the validated sections; problems go to `problems`. */
export function resolveJiraSettings(
  a: AtlassianOptions, t: TokenOptions, l: LifecycleOptions, r: ReturnOptions, routePrefix: string, name: Namer, problems: string[],
): JiraSettings {
  const clientSecret = isPlaceholder(a.clientSecret) ? undefined : a.clientSecret;
  const clientId = isPlaceholder(a.clientId) ? undefined : a.clientId;
  if (!a.scopes.includes('offline_access')) problems.push(`${name('atlassian', 'scopes')} must include offline_access, or Atlassian issues no refresh token`);
  const callback = callbackPath(routePrefix);
  if (a.redirectUri && !endsInCallback(a.redirectUri, callback)) {
    problems.push(`${name('atlassian', 'redirectUri')} must end in ${callback} (the callback route), without a query string, `
      + 'and be registered as the callback URL in the Atlassian developer console');
  }
  const returnOrigins = checkOrigins(r.returnOrigins, name('', 'returnOrigins'), problems);
  return {
    clientId,
    clientSecret,
    redirectUri: a.redirectUri,
    configured: Boolean(clientId && clientSecret && a.redirectUri),
    scopes: a.scopes,
    authBaseUrl: a.authBaseUrl.replace(/\/+$/, ''),
    apiBaseUrl: a.apiBaseUrl.replace(/\/+$/, ''),
    keepAliveDays: t.keepAliveDays,
    httpTimeoutMs: a.httpTimeoutMs,
    refreshLockTimeoutMs: t.refreshLockTimeoutMs,
    refreshMaxAttempts: t.refreshMaxAttempts,
    refreshBackoffMs: t.refreshBackoffMs,
    retryBudgetMs: t.retryBudgetMs,
    refreshConcurrency: t.refreshConcurrency,
    refreshRecoverySeconds: t.refreshRecoverySeconds,
    unauthorizedRefreshWindowMs: t.unauthorizedRefreshWindowSeconds * 1000,
    reconsentNoticeDays: [...l.reconsentNoticeDays].sort((x, y) => y - x),
    personalDataReportDays: l.personalDataReportDays,
    personalDataCallDeadlineMs: l.personalDataCallDeadlineMs,
    returnOrigins,
    defaultReturnUrl: r.defaultReturnUrl ? checkDefaultReturnUrl(r.defaultReturnUrl, returnOrigins, name, problems) : null,
  };
}

/** `/<routePrefix>/oauth/callback`. */
export const callbackPath = (routePrefix: string): string => `/${routePrefix.replace(/^\/+|\/+$/g, '')}/oauth/callback`;

function endsInCallback(uri: string, callback: string): boolean {
  return !/[?#]/.test(uri) && uri.endsWith(callback);
}

/** Bare origins (`https://app.example.com`), normalized; each bad entry is a problem. */
function checkOrigins(origins: string[], named: string, problems: string[]): string[] {
  try {
    return parseOrigins(named, origins.join(','));
  } catch (err) {
    if (err instanceof EnvValidationError) problems.push(...err.problems);
    else throw err;
    return [];
  }
}

/** The same rule as a flow's returnTo: no open redirect, even from configuration. */
function checkDefaultReturnUrl(value: string, returnOrigins: string[], name: Namer, problems: string[]): string | null {
  if (!URL.canParse(value)) return null; // its schema check already named it
  const url = new URL(value);
  if (!returnOrigins.includes(url.origin) || url.username || url.password) {
    problems.push(`${name('', 'defaultReturnUrl')} must be on one of the origins in ${name('', 'returnOrigins')} (got ${url.origin})`);
    return null;
  }
  url.hash = '';
  return url.toString();
}
