import { registerAs } from '@nestjs/config';
import { IsInt, IsOptional, IsString, IsUrl, Matches, Max, Min } from 'class-validator';
import { EnvValidationError, isPlaceholder, parseOrigins, validateEnv } from './validate-env.js';
import { Describe } from './describe.js';

const HTTP_URL = { require_tld: false, protocols: ['http', 'https'], require_protocol: true };

/** The callback route (JiraOAuthController); Atlassian sends the browser back here. */
export const JIRA_CALLBACK_PATH = '/api/integrations/jira/oauth/callback';
const ENDS_IN_CALLBACK = new RegExp(`^[^?#]*${JIRA_CALLBACK_PATH.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);

export class JiraEnv {
  @IsOptional()
  @IsString()
  @Describe('the Atlassian 3LO app\'s client id; without id, secret and redirect URI `authorize` answers 503 `jira_not_configured`')
  JIRA_CLIENT_ID?: string;

  @IsOptional()
  @IsString()
  @Describe('the Atlassian 3LO app\'s secret; also verifies the JWT of Jira webhook deliveries')
  JIRA_CLIENT_SECRET?: string;

  /** Must equal the callback URL registered in the Atlassian developer console. */
  @IsOptional()
  @IsUrl(HTTP_URL, { message: 'JIRA_REDIRECT_URI must be an absolute http(s) URL' })
  @Matches(ENDS_IN_CALLBACK, {
    message: `JIRA_REDIRECT_URI must end in ${JIRA_CALLBACK_PATH} (the callback route), without a query string, `
      + 'and be registered as the callback URL in the Atlassian developer console',
  })
  @Describe('must equal the callback URL registered in the developer console, and end in `/api/integrations/jira/oauth/callback` (any prefix of a reverse proxy before it)')
  JIRA_REDIRECT_URI?: string;

  @Matches(/(^|\s)offline_access(\s|$)/, {
    message: 'JIRA_SCOPES must include offline_access, or Atlassian issues no refresh token',
  })
  @Describe('space-separated scopes asked for; must include `offline_access` (no refresh token otherwise); add `read:me` to record who connected, `manage:jira-webhook` for webhooks')
  JIRA_SCOPES: string = 'read:jira-user read:jira-work offline_access';

  @IsUrl(HTTP_URL, { message: 'JIRA_AUTH_BASE_URL must be an absolute http(s) URL' })
  @Describe('authorize and token endpoints')
  JIRA_AUTH_BASE_URL: string = 'https://auth.atlassian.com';

  @IsUrl(HTTP_URL, { message: 'JIRA_API_BASE_URL must be an absolute http(s) URL' })
  @Describe('accessible-resources, `/me`, the Jira REST gateway')
  JIRA_API_BASE_URL: string = 'https://api.atlassian.com';

  /** Refresh integrations idle this long so Atlassian's 90-day inactivity expiry never hits. */
  @IsInt()
  @Min(1)
  @Max(80)
  @Describe('refresh integrations idle this long (Atlassian expires refresh tokens after 90 idle days)')
  JIRA_KEEPALIVE_DAYS: number = 30;

  @IsInt()
  @Min(100)
  @Max(120_000)
  @Describe('total deadline of every call to Atlassian (connect, headers and body together)')
  JIRA_HTTP_TIMEOUT_MS: number = 10_000;

  /** How long a caller waits (polling the row) for another process's refresh lease before failing (503). */
  @IsInt()
  @Min(100)
  @Max(300_000)
  @Describe('the most any `getAccessToken` call takes, whatever it waits on (another caller\'s refresh, a refresh slot, another process\'s lease, backoff); then 503 `jira_refresh_lock_timeout`')
  JIRA_REFRESH_LOCK_TIMEOUT_MS: number = 15_000;

  /** Token-endpoint attempts per refresh on 5xx/429/network errors (1 = no retry). */
  @IsInt()
  @Min(1)
  @Max(10)
  @Describe('token-endpoint attempts per refresh on 5xx/429/network errors (1 = no retry)')
  JIRA_REFRESH_MAX_ATTEMPTS: number = 4;

  /** First backoff delay; doubled per attempt, with jitter, at least `Retry-After`. */
  @IsInt()
  @Min(1)
  @Max(60_000)
  @Describe('first retry delay; doubles per attempt, jittered, never below `Retry-After`')
  JIRA_REFRESH_BACKOFF_MS: number = 500;

  /** Total time one caller spends retrying (token endpoint or a rate-limited Jira call). */
  @IsInt()
  @Min(0)
  @Max(300_000)
  @Describe('total time a caller spends waiting between retries (token refresh), and how long a Jira call may wait for Atlassian\'s rate limits before 503 `atlassian_rate_limited`')
  JIRA_RETRY_BUDGET_MS: number = 20_000;

  /** Refreshes this process runs at once (its own bound, independent of the database pool). */
  @IsInt()
  @Min(1)
  @Max(1000)
  @Describe('refreshes in flight at once per process, independent of the database pool')
  JIRA_REFRESH_CONCURRENCY: number = 50;

  /**
   * How often every instance sweeps for refreshes whose outcome is unknown (lease expired with a
   * refresh in flight) and presents the same refresh token again. Must stay well inside
   * Atlassian's 10-minute reuse leeway, hence at most 5 minutes.
   */
  @IsInt()
  @Min(1)
  @Max(300)
  @Describe('how often every instance sweeps for interrupted refreshes and finishes them (always well inside Atlassian\'s 10-minute reuse leeway)')
  JIRA_REFRESH_RECOVERY_SECONDS: number = 60;

  /**
   * A Jira 401 for an access token that a 401-triggered refresh obtained less than this long ago
   * answers 502 jira_scope_insufficient without another refresh (one rotation per token for 401s).
   */
  @IsInt()
  @Min(0)
  @Max(86_400)
  @Describe('a Jira 401 for a token a 401-triggered refresh obtained less than this long ago answers 502 `jira_scope_insufficient` without another refresh')
  JIRA_UNAUTHORIZED_REFRESH_WINDOW_SECONDS: number = 600;

  /**
   * Days before the 365-day consent expiry at which a `reconsent_due` notification goes out,
   * comma-separated; each once per consent.
   */
  @Matches(/^\s*\d{1,3}\s*(,\s*\d{1,3}\s*)*$/, { message: 'JIRA_RECONSENT_NOTICE_DAYS must be comma-separated whole days, e.g. 30,7' })
  @Describe('days before the 365-day consent expiry at which `reconsent_due` goes out, comma-separated (each 1 to 364); each once per consent')
  JIRA_RECONSENT_NOTICE_DAYS: string = '30,7';

  /** How often each stored Atlassian account is reported to the personal-data reporting API (Atlassian: at least weekly). */
  @IsInt()
  @Min(1)
  @Max(7)
  @Describe('report each stored Atlassian account to Atlassian\'s personal-data reporting API this often')
  JIRA_PERSONAL_DATA_REPORT_DAYS: number = 7;

  /** Total time one report request may take, Retry-After waits and retries included. */
  @IsInt()
  @Min(1000)
  @Max(600_000)
  @Describe('total deadline of one report request, waits and retries included')
  JIRA_PERSONAL_DATA_CALL_DEADLINE_MS: number = 60_000;

  /** Comma-separated origins (`https://app.example.com`) that `returnTo` may point at. */
  @IsOptional()
  @IsString()
  @Describe('comma-separated origins `returnTo` may point at (and the default of `CORS_ORIGINS`)')
  OAUTH_RETURN_ORIGINS?: string;

  /** Where a callback with an unknown or absent state sends the browser (on an allowed origin). */
  @IsOptional()
  @IsUrl(HTTP_URL, { message: 'OAUTH_DEFAULT_RETURN_URL must be an absolute http(s) URL' })
  @Describe('where a callback with an unknown or absent state sends the browser (`?jira=error&code=…`); must be on an origin of `OAUTH_RETURN_ORIGINS`. Unset: problem JSON')
  OAUTH_DEFAULT_RETURN_URL?: string;
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

export function readJiraSettings(env: NodeJS.ProcessEnv = process.env): JiraSettings {
  const parsed = validateEnv(JiraEnv, env);
  const secret = isPlaceholder(parsed.JIRA_CLIENT_SECRET) ? undefined : parsed.JIRA_CLIENT_SECRET;
  const clientId = isPlaceholder(parsed.JIRA_CLIENT_ID) ? undefined : parsed.JIRA_CLIENT_ID;
  const returnOrigins = parseOrigins('OAUTH_RETURN_ORIGINS', parsed.OAUTH_RETURN_ORIGINS);
  return {
    clientId,
    clientSecret: secret,
    redirectUri: parsed.JIRA_REDIRECT_URI,
    configured: Boolean(clientId && secret && parsed.JIRA_REDIRECT_URI),
    scopes: [...new Set(parsed.JIRA_SCOPES.split(/\s+/).filter(Boolean))],
    authBaseUrl: parsed.JIRA_AUTH_BASE_URL.replace(/\/+$/, ''),
    apiBaseUrl: parsed.JIRA_API_BASE_URL.replace(/\/+$/, ''),
    keepAliveDays: parsed.JIRA_KEEPALIVE_DAYS,
    httpTimeoutMs: parsed.JIRA_HTTP_TIMEOUT_MS,
    refreshLockTimeoutMs: parsed.JIRA_REFRESH_LOCK_TIMEOUT_MS,
    refreshMaxAttempts: parsed.JIRA_REFRESH_MAX_ATTEMPTS,
    refreshBackoffMs: parsed.JIRA_REFRESH_BACKOFF_MS,
    retryBudgetMs: parsed.JIRA_RETRY_BUDGET_MS,
    refreshConcurrency: parsed.JIRA_REFRESH_CONCURRENCY,
    refreshRecoverySeconds: parsed.JIRA_REFRESH_RECOVERY_SECONDS,
    unauthorizedRefreshWindowMs: parsed.JIRA_UNAUTHORIZED_REFRESH_WINDOW_SECONDS * 1000,
    reconsentNoticeDays: parseNoticeDays(parsed.JIRA_RECONSENT_NOTICE_DAYS),
    personalDataReportDays: parsed.JIRA_PERSONAL_DATA_REPORT_DAYS,
    personalDataCallDeadlineMs: parsed.JIRA_PERSONAL_DATA_CALL_DEADLINE_MS,
    returnOrigins,
    defaultReturnUrl: parsed.OAUTH_DEFAULT_RETURN_URL ? checkDefaultReturnUrl(parsed.OAUTH_DEFAULT_RETURN_URL, returnOrigins) : null,
  };
}

function parseNoticeDays(value: string): number[] {
  const days = [...new Set(value.split(',').map((d) => Number(d.trim())))].sort((a, b) => b - a);
  if (days.some((d) => d < 1 || d > 364)) throw new EnvValidationError(['JIRA_RECONSENT_NOTICE_DAYS must be between 1 and 364 days']);
  return days;
}

/** The same rule as a flow's returnTo: no open redirect, even from configuration. */
function checkDefaultReturnUrl(value: string, returnOrigins: string[]): string {
  const url = new URL(value);
  if (!returnOrigins.includes(url.origin) || url.username || url.password) {
    throw new EnvValidationError([`OAUTH_DEFAULT_RETURN_URL must be on one of the origins in OAUTH_RETURN_ORIGINS (got ${url.origin})`]);
  }
  url.hash = '';
  return url.toString();
}

export const jiraConfig = registerAs('jira', () => readJiraSettings());
