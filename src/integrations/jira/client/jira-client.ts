import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import type { Method } from 'axios';
import { Clock } from '../common/clock.js';
import { AtlassianApiError, AtlassianGateway, parseRetryAfter, type JiraResponse, type JiraStreamResponse } from '../atlassian/atlassian.gateway.js';
import { JiraError, JiraErrorCode } from '../jira.errors.js';
import { atlassianUnavailable, scopeInsufficient } from '../tokens/jira-token.errors.js';
import { JiraTokenManager, type CredentialsPrefetch, type JiraCredentials } from '../tokens/jira-token-manager.service.js';
import { RateLimitGovernor } from './rate-limit-governor.js';
import { JIRA_SETTINGS, type JiraModuleSettings } from '../config/module-settings.js';
import type { JiraSettings } from '../config/jira.config.js';

export interface JiraRequestOptions {
  query?: Record<string, string | number | boolean>;
  body?: unknown;
  /** How long this call may wait for Atlassian's rate limits (default JIRA_RETRY_BUDGET_MS). */
  budgetMs?: number;
}

export interface JiraStreamOptions {
  /** The query string, encoded, without `?`. */
  query?: string;
  body?: Buffer;
  /** Request headers for Jira (Authorization is always the team's token, whatever is given). */
  headers?: Record<string, string>;
  budgetMs?: number;
  /** The team's row, already being read (JiraTokenManager.prefetch). */
  prefetched?: CredentialsPrefetch;
}

/** Methods a 429 may be retried for (RFC 9110 idempotent methods the proxies carry). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

/** Rate-limited calls are retried at most this often (each after its scope's reset, within the budget). */
const MAX_RATE_LIMIT_RETRIES = 2;
/** When a 429 carries no Retry-After. */
const DEFAULT_RETRY_AFTER_S = 1;
/**
 * Atlassian's gateway answers an expired token with 403 (v1 paths) or 404 (v2 paths), not 401
 * (n8n#37776). Such an answer counts as "maybe expired" only while the stored expiry is this
 * close (clock skew between us and Atlassian); otherwise it is a real 403/404.
 */
const EXPIRY_SKEW_MS = 120_000;

/** Jira Cloud REST for one team, through `api.atlassian.com/ex/jira/{cloudId}`. */
export class TeamJiraClient {
  constructor(
    readonly teamId: string,
    private readonly tokens: JiraTokenManager,
    private readonly gateway: AtlassianGateway,
    private readonly clock: Clock,
    private readonly retryBudgetMs: number,
    private readonly governor: RateLimitGovernor,
  ) {}

  /**
   * One Jira call with a token valid for ≥ 60 s, through the refresh and governor rules below.
   * The governor holds a call back after a 429 or near a limit, or fails it at once with 503
   * atlassian_rate_limited when it could not go out within the retry budget. Any other status is returned.
   */
  async request<T = unknown>(method: Method, path: string, options: JiraRequestOptions = {}): Promise<JiraResponse<T>> {
    return this.governed(method, path, options.budgetMs, true, (token, cloudId) => this.send<T>(token, cloudId, method, path, options));
  }

  /**
   * Any Jira REST call with the bodies as bytes (the proxy's): the same token, refresh and governor
   * rules as `request`, Jira's answer streamed back as it is. `path` is already checked and
   * encoded (proxy/proxy-path.ts); `query` is appended as given. Only idempotent methods are
   * retried after a 429; a POST or PATCH gets Jira's 429 back (the governor holds the scope back
   * all the same). A retry after a refresh re-sends the body, which is why it is a Buffer.
   */
  async requestStream(method: Method, path: string, options: JiraStreamOptions = {}): Promise<JiraStreamResponse> {
    const target = options.query ? `${path}?${options.query}` : path;
    const retryRateLimited = IDEMPOTENT.has(method.toUpperCase());
    return this.governed(method, path, options.budgetMs, retryRateLimited, (token, cloudId) => this.sendStream(token, cloudId, method, target, options),
      (dropped) => dropped.body.destroy(), options.prefetched);
  }

  /**
   * The loop both calls share. A 401 (or a 403/404 while the stored expiry says the token may
   * have expired) triggers one forced refresh and one retry, always to the same site as the first
   * attempt; a 401 that persists with the fresh token is a scope problem (502
   * jira_scope_insufficient), never another rotation, and so is a 401, in a later call, for a token
   * a 401-triggered refresh obtained less than JIRA_UNAUTHORIZED_REFRESH_WINDOW_SECONDS ago. Every
   * attempt passes the RateLimitGovernor; one that got no answer is settled with it.
   */
  private async governed<R extends { status: number; headers: Record<string, string> }>(
    method: Method,
    path: string,
    budgetMs: number | undefined,
    retryRateLimited: boolean,
    attempt: (accessToken: string, cloudId: string) => Promise<R>,
    discard: (res: R) => void = () => undefined,
    prefetched?: CredentialsPrefetch,
  ): Promise<R> {
    const deadline = this.clock.nowMs() + (budgetMs ?? this.retryBudgetMs);
    let credentials = await this.tokens.getCredentials(this.teamId, prefetched);
    const cloudId = credentials.cloudId;
    let refreshed = false;
    for (let rateLimited = 0; ; ) {
      const call = { tenant: cloudId, method, path };
      await this.governor.acquire(call, deadline);
      const res = await attempt(credentials.accessToken, cloudId).catch((err: unknown) => {
        this.governor.settled(call);
        throw err;
      });
      await this.governor.observe(call, res);
      if (!refreshed && this.tokenRejected(res.status, credentials)) {
        refreshed = true;
        // A 401 for a token a 401-triggered refresh just handed out throws jira_scope_insufficient here.
        const fresh = await this.tokens.refreshRejected(this.teamId, credentials.accessToken, res.status);
        if (fresh.cloudId !== cloudId) return res; // reconnected to another site meanwhile: never switch sites mid-call
        discard(res);
        credentials = fresh;
        continue;
      }
      if (res.status === 401 && refreshed) {
        discard(res);
        throw scopeInsufficient();
      }
      if (res.status !== 429 || !retryRateLimited) return res;
      discard(res);
      if (rateLimited >= MAX_RATE_LIMIT_RETRIES) {
        throw atlassianUnavailable(429, Math.max(1, parseRetryAfter(res.headers['retry-after']) ?? DEFAULT_RETRY_AFTER_S));
      }
      // The governor has blocked the 429's scope; the next acquire waits for it or fails at once.
      rateLimited += 1;
    }
  }

  private tokenRejected(status: number, credentials: JiraCredentials): boolean {
    if (status === 401) return true;
    return (status === 403 || status === 404) && credentials.expiresAt.getTime() - this.clock.nowMs() <= EXPIRY_SKEW_MS;
  }

  /** The body of a 2xx answer; anything else becomes a 502 jira_request_failed naming the status. */
  async json<T = unknown>(method: Method, path: string, options: JiraRequestOptions = {}): Promise<T> {
    const res = await this.request<T>(method, path, options);
    if (res.status >= 200 && res.status < 300) return res.data;
    throw new JiraError(JiraErrorCode.JiraRequestFailed, HttpStatus.BAD_GATEWAY, 'Jira refused the request',
      `Jira answered ${res.status} to ${method.toUpperCase()} ${path.split('?')[0]}.`, { extensions: { jiraStatus: res.status } });
  }

  get<T = unknown>(path: string, query?: JiraRequestOptions['query']): Promise<T> {
    return this.json<T>('GET', path, { query });
  }

  /** `GET /rest/api/3/myself`: the connected account as Jira sees it (what status?verify=true uses). */
  myself(): Promise<{ accountId: string; displayName?: string; emailAddress?: string; active?: boolean }> {
    return this.get('/rest/api/3/myself');
  }

  private async sendStream(token: string, cloudId: string, method: Method, target: string, options: JiraStreamOptions): Promise<JiraStreamResponse> {
    try {
      return await this.gateway.jiraStream(token, cloudId, method, target, { body: options.body, headers: options.headers });
    } catch (err) {
      if (err instanceof AtlassianApiError) throw atlassianUnavailable(undefined, 1, err);
      throw err;
    }
  }

  private async send<T>(token: string, cloudId: string, method: Method, path: string, options: JiraRequestOptions): Promise<JiraResponse<T>> {
    try {
      return await this.gateway.jira<T>(token, cloudId, method, path, options);
    } catch (err) {
      if (err instanceof AtlassianApiError) throw atlassianUnavailable(undefined, 1, err);
      throw err;
    }
  }
}

/** Other modules' way into Jira: `jiraClient.forTeam(teamId).get('/rest/api/3/project/search')`. */
@Injectable()
export class JiraClient {
  private readonly config: JiraSettings;
  constructor(
    private readonly tokens: JiraTokenManager,
    private readonly gateway: AtlassianGateway,
    private readonly clock: Clock,
    @Inject(JIRA_SETTINGS) settings: JiraModuleSettings,
    private readonly governor: RateLimitGovernor,
  ) {
    this.config = settings.jira;
  }

  forTeam(teamId: string): TeamJiraClient {
    return new TeamJiraClient(teamId, this.tokens, this.gateway, this.clock, this.config.retryBudgetMs, this.governor);
  }
}
