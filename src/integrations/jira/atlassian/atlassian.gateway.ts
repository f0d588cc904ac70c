import { HttpService } from '@nestjs/axios';
import { Inject, Injectable } from '@nestjs/common';
import type { AxiosResponse, Method } from 'axios';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { firstValueFrom } from 'rxjs';
import type { JiraSite } from '../entities/jira-integration.entity.js';
import { mintOutcome, refreshOutcome, type RefreshOutcomeVerdict, type TokenCallResult } from '../tokens/refresh-outcome.js';
import { JIRA_SETTINGS, type JiraModuleSettings } from '../config/module-settings.js';
import type { JiraSettings } from '../config/jira.config.js';

/** What Atlassian's token endpoint returns, with field names of our own. */
export interface TokenSet {
  accessToken: string;
  /** Absent when `offline_access` was not granted. Rotates on every refresh. */
  refreshToken?: string;
  expiresInSeconds: number;
  scopes: string[];
}

export interface AtlassianAccount {
  accountId: string;
  name?: string;
  email?: string;
}

/**
 * How a token-endpoint call failed, coarsely (the code exchange's view):
 * - `invalid_grant`: the refresh token (or code) is dead: expired, revoked, or reused. Permanent;
 *   the user must authorize again.
 * - `client_rejected`: Atlassian refused the request itself (client id/secret, redirect URI, a
 *   malformed request). Permanent, but an operator problem: consent again would not help.
 * - `transient`: anything else (no answer, 5xx, 408, 429, an unusable body). Retry later.
 * The refresh path reads `verdict` (refresh-outcome.ts), which also says whether Atlassian may
 * have rotated the presented refresh token.
 */
export type TokenFailureKind = 'invalid_grant' | 'client_rejected' | 'transient';

/** Never carries a token, code or secret: only what happened, Atlassian's status and error code. */
export class AtlassianTokenError extends Error {
  readonly verdict: RefreshOutcomeVerdict;
  readonly kind: TokenFailureKind;
  readonly httpStatus: number | undefined;
  readonly oauthError: string | undefined;

  constructor(
    readonly result: TokenCallResult,
    readonly retryAfterSeconds?: number,
    /** `client_credentials`: a service account's mint, read with mintOutcome. */
    grantType?: string,
  ) {
    const verdict = grantType === 'client_credentials' ? mintOutcome(result) : refreshOutcome(result);
    const httpStatus = result.kind === 'http' ? result.status : undefined;
    const oauthError = result.kind === 'http' ? result.oauthError : undefined;
    const kind: TokenFailureKind = verdict.next === 'reauthorize' ? 'invalid_grant'
      : verdict.next === 'client_rejected' || verdict.next === 'rejected' ? 'client_rejected' : 'transient';
    super(`Atlassian token endpoint failed (${result.kind === 'http' ? `status ${httpStatus}; error ${oauthError ?? 'none'}` : result.kind}; `
      + `${verdict.mayHaveRotated ? 'may have rotated' : 'not rotated'})`);
    this.name = 'AtlassianTokenError';
    this.verdict = verdict;
    this.kind = kind;
    this.httpStatus = httpStatus;
    this.oauthError = oauthError;
  }
}

/** A non-token Atlassian API call that did not succeed (no request data inside). */
export class AtlassianApiError extends Error {
  constructor(
    readonly httpStatus: number | undefined,
    readonly retryAfterSeconds?: number,
  ) {
    super(`Atlassian API call failed (status ${httpStatus ?? 'network error'})`);
    this.name = 'AtlassianApiError';
  }
}

export interface JiraResponse<T = unknown> {
  status: number;
  headers: Record<string, string>;
  data: T;
}

/** A Jira answer whose body is read as it arrives (the proxy's); destroy `body` to drop it. */
export interface JiraStreamResponse {
  status: number;
  headers: Record<string, string>;
  body: Readable;
}

/** Bounds for `expires_in`: Atlassian issues 1-hour tokens; a wild value must never become an Invalid Date. */
export const EXPIRES_IN_BOUNDS = { min: 60, max: 24 * 3600, fallback: 3600 } as const;

export function clampExpiresIn(value: number): number {
  if (!Number.isFinite(value) || value <= 0) return EXPIRES_IN_BOUNDS.fallback;
  return Math.min(EXPIRES_IN_BOUNDS.max, Math.max(EXPIRES_IN_BOUNDS.min, Math.floor(value)));
}

/** `Retry-After` as seconds: either delta-seconds or an HTTP date. */
export function parseRetryAfter(value: unknown, nowMs = Date.now()): number | undefined {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - nowMs) / 1000));
}

/**
 * Runs one HTTP call under a total deadline (connect, headers and the whole body) through an
 * abort signal: axios' own `timeout` is an idle timeout that every received byte resets. The
 * timer goes as soon as the call settles.
 */
async function underDeadline<T>(ms: number, send: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), Math.max(1, Math.floor(ms)));
  try {
    return await send(controller.signal);
  } finally {
    clearTimeout(timer);
  }
}

/** Codes of a connection that was never made: the request cannot have reached Atlassian. */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH']);

/** What a failed request (no HTTP answer read in full) came to. */
function failureOf(err: unknown): TokenCallResult {
  const code = (err as { code?: string; cause?: { code?: string } }).code;
  if (code === 'ERR_CANCELED') return { kind: 'deadline' }; // our deadline is the only abort

  const causeCode = (err as { cause?: { code?: string } }).cause?.code;
  if ((code && NOT_CONNECTED.has(code)) || (causeCode && NOT_CONNECTED.has(causeCode))) return { kind: 'no_connection' };
  return { kind: 'connection_lost' };
}

function headersOf(res: AxiosResponse | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(res?.headers ?? {})) if (v !== undefined && v !== null) out[k.toLowerCase()] = String(v);
  return out;
}

/**
 * Every HTTP call to Atlassian, in one injectable: the authorize URL, the token endpoint (JSON
 * bodies, as documented), accessible-resources, /me and the Jira REST gateway. One attempt per
 * call, each with a total deadline (JIRA_HTTP_TIMEOUT_MS, or less when the caller has less time
 * left) enforced through an abort signal; retry policy belongs to the callers. Errors are re-thrown as our own
 * classes so that axios' request config (headers, bodies with secrets) is never attached to
 * anything that might be logged.
 */
@Injectable()
export class AtlassianGateway {
  private readonly config: JiraSettings;
  constructor(
    private readonly http: HttpService,
    @Inject(JIRA_SETTINGS) settings: JiraModuleSettings,
  ) {
    this.config = settings.jira;
  }

  authorizeUrl(state: string): string {
    const url = new URL(`${this.config.authBaseUrl}/authorize`);
    url.searchParams.set('audience', 'api.atlassian.com');
    url.searchParams.set('client_id', this.config.clientId ?? '');
    url.searchParams.set('scope', this.config.scopes.join(' '));
    url.searchParams.set('redirect_uri', this.config.redirectUri ?? '');
    url.searchParams.set('state', state);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('prompt', 'consent');
    // URLSearchParams writes spaces as '+'; Atlassian documents %20.
    return url.toString().replace(/\+/g, '%20');
  }

  exchangeCode(code: string): Promise<TokenSet> {
    return this.tokenRequest({
      grant_type: 'authorization_code',
      client_id: this.config.clientId,
      client_secret: this.config.clientSecret,
      code,
      redirect_uri: this.config.redirectUri,
    });
  }

  /** `deadlineMs`: the most this call may take (capped at JIRA_HTTP_TIMEOUT_MS). */
  refresh(refreshToken: string, deadlineMs = this.config.httpTimeoutMs): Promise<TokenSet> {
    return this.tokenRequest({
      grant_type: 'refresh_token',
      client_id: this.config.clientId,
      client_secret: this.config.clientSecret,
      refresh_token: refreshToken,
    }, deadlineMs);
  }

  /**
   * A service account's access token (OAuth 2.0 client credentials: about 60 minutes, no refresh
   * token), from the same token endpoint as 3LO; calls then go through api.atlassian.com/ex/jira
   * as for 3LO ("Create OAuth 2.0 credential for service accounts", support.atlassian.com).
   * The scopes are the ones chosen when the credential was created.
   */
  mint(clientId: string, clientSecret: string, deadlineMs = this.config.httpTimeoutMs): Promise<TokenSet> {
    return this.tokenRequest({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: clientSecret,
      audience: 'api.atlassian.com',
    }, deadlineMs);
  }

  async accessibleResources(accessToken: string): Promise<JiraSite[]> {
    const res = await this.apiGet<unknown>('/oauth/token/accessible-resources', accessToken);
    if (!Array.isArray(res)) throw new AtlassianApiError(200);
    return res
      .filter((r): r is Record<string, unknown> => typeof r === 'object' && r !== null && typeof r.id === 'string' && typeof r.url === 'string')
      .map((r) => ({
        cloudId: String(r.id),
        url: String(r.url).replace(/\/+$/, ''),
        name: typeof r.name === 'string' ? r.name : String(r.url),
        scopes: Array.isArray(r.scopes) ? r.scopes.map(String) : [],
        avatarUrl: typeof r.avatarUrl === 'string' ? r.avatarUrl : undefined,
      }));
  }

  /** The consenting Atlassian account; null when the token lacks `read:me`. */
  async me(accessToken: string): Promise<AtlassianAccount | null> {
    try {
      const me = await this.apiGet<Record<string, unknown>>('/me', accessToken);
      if (typeof me?.account_id !== 'string') return null;
      return {
        accountId: me.account_id,
        name: typeof me.name === 'string' ? me.name : undefined,
        email: typeof me.email === 'string' ? me.email : undefined,
      };
    } catch (err) {
      if (err instanceof AtlassianApiError && (err.httpStatus === 401 || err.httpStatus === 403)) return null;
      throw err;
    }
  }

  /**
   * Atlassian's personal-data reporting API for OAuth 2.0 (3LO) apps: `POST /app/report-accounts/`
   * with at most 90 `{accountId, updatedAt}`. Resolves with any HTTP status (200 lists accounts to
   * erase or refresh, 204 none, 429 carries Retry-After); rejects only on network errors and
   * timeouts. `timeoutMs` lets the caller keep its total deadline.
   */
  async reportAccounts(accessToken: string, accounts: { accountId: string; updatedAt: string }[], timeoutMs: number): Promise<JiraResponse> {
    try {
      const res = await underDeadline(Math.min(timeoutMs, this.config.httpTimeoutMs), (signal) => firstValueFrom(
        this.http.post<unknown>(`${this.config.apiBaseUrl}/app/report-accounts/`, { accounts }, {
          headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json', 'content-type': 'application/json' },
          signal,
          validateStatus: () => true,
        }),
      ));
      return { status: res.status, headers: headersOf(res), data: res.data };
    } catch {
      throw new AtlassianApiError(undefined);
    }
  }

  /**
   * A Jira Cloud REST call through the gateway (`/ex/jira/{cloudId}/...`). Resolves with any HTTP
   * status so callers can react to 401/429; rejects only on network errors and timeouts.
   */
  async jira<T = unknown>(
    accessToken: string,
    cloudId: string,
    method: Method,
    path: string,
    options: { query?: Record<string, string | number | boolean>; body?: unknown; deadlineMs?: number } = {},
  ): Promise<JiraResponse<T>> {
    const cleanPath = path.startsWith('/') ? path : `/${path}`;
    try {
      const res = await underDeadline(Math.min(options.deadlineMs ?? Infinity, this.config.httpTimeoutMs), (signal) => firstValueFrom(
        this.http.request<T>({
          method,
          url: `${this.config.apiBaseUrl}/ex/jira/${encodeURIComponent(cloudId)}${cleanPath}`,
          params: options.query,
          data: options.body,
          headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
          signal,
          validateStatus: () => true,
        }),
      ));
      return { status: res.status, headers: headersOf(res), data: res.data };
    } catch {
      throw new AtlassianApiError(undefined);
    }
  }

  /**
   * The same gateway call with the body as bytes both ways (the proxy's): `pathAndQuery` goes out
   * as given (already checked and encoded), redirects are never followed, and Jira's bytes
   * (compressed or not) come back unchanged as a stream. Plain node:http rather than axios: on
   * this path axios' request and response pipeline was the largest part of the proxy's own CPU
   * time (bench: proxy). Like every call to Atlassian it has a total deadline (connect, headers and
   * the whole body): past it the request, or the answer's stream, is destroyed.
   */
  jiraStream(
    accessToken: string,
    cloudId: string,
    method: string,
    pathAndQuery: string,
    options: { body?: Buffer; headers?: Record<string, string>; deadlineMs?: number } = {},
  ): Promise<JiraStreamResponse> {
    const signal = AbortSignal.timeout(Math.max(1, Math.floor(Math.min(options.deadlineMs ?? Infinity, this.config.httpTimeoutMs))));
    const url = new URL(`${this.config.apiBaseUrl}/ex/jira/${encodeURIComponent(cloudId)}${pathAndQuery}`);
    const headers: Record<string, string> = { ...options.headers, authorization: `Bearer ${accessToken}` };
    if (options.body) headers['content-length'] = String(options.body.length);
    return new Promise((resolve, reject) => {
      const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { method: method.toUpperCase(), headers, signal }, (res) => {
        const out: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
        resolve({ status: res.statusCode ?? 502, headers: out, body: res });
      });
      // Before the answer: our error (no request data in it). After: the body stream fails, and its reader stops.
      req.on('error', () => reject(new AtlassianApiError(undefined)));
      req.end(options.body);
    });
  }

  private async apiGet<T>(path: string, accessToken: string): Promise<T> {
    let res: AxiosResponse<T>;
    try {
      res = await underDeadline(this.config.httpTimeoutMs, (signal) => firstValueFrom(
        this.http.get<T>(`${this.config.apiBaseUrl}${path}`, {
          headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
          signal,
          validateStatus: () => true,
        }),
      ));
    } catch {
      throw new AtlassianApiError(undefined);
    }
    if (res.status < 200 || res.status >= 300) {
      throw new AtlassianApiError(res.status, parseRetryAfter(headersOf(res)['retry-after']));
    }
    return res.data;
  }

  private async tokenRequest(body: Record<string, string | undefined>, deadlineMs = this.config.httpTimeoutMs): Promise<TokenSet> {
    let res: AxiosResponse<unknown>;
    try {
      res = await underDeadline(Math.min(deadlineMs, this.config.httpTimeoutMs), (signal) => firstValueFrom(
        this.http.post<unknown>(`${this.config.authBaseUrl}/oauth/token`, body, {
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          signal,
          validateStatus: () => true,
        }),
      ));
    } catch (err) {
      throw new AtlassianTokenError(failureOf(err), undefined, body.grant_type);
    }
    // axios leaves a body that is not JSON (an HTML error page, a cut-off answer) as a string.
    const data = typeof res.data === 'object' && res.data !== null ? res.data as Record<string, unknown> : {};
    const accessToken = typeof data.access_token === 'string' && data.access_token !== '' ? data.access_token : undefined;
    if (res.status >= 200 && res.status < 300 && accessToken) {
      return {
        accessToken,
        refreshToken: typeof data.refresh_token === 'string' && data.refresh_token !== '' ? data.refresh_token : undefined,
        expiresInSeconds: clampExpiresIn(Number(data.expires_in)),
        scopes: typeof data.scope === 'string' ? data.scope.split(/\s+/).filter(Boolean) : [],
      };
    }
    const oauthError = typeof data.error === 'string' && data.error !== '' ? data.error : undefined;
    throw new AtlassianTokenError({ kind: 'http', status: res.status, oauthError, tokenUsable: false }, parseRetryAfter(headersOf(res)['retry-after']),
      body.grant_type);
  }
}
