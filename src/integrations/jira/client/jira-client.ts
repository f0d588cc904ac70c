import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { Method } from 'axios';
import { Clock } from '../../../common/clock.js';
import { jiraConfig } from '../../../config/jira.config.js';
import { AtlassianApiError, AtlassianGateway, parseRetryAfter, type JiraResponse } from '../atlassian/atlassian.gateway.js';
import { JiraError, JiraErrorCode } from '../jira.errors.js';
import { atlassianUnavailable, scopeInsufficient } from '../tokens/jira-token.errors.js';
import { JiraTokenManager, type JiraCredentials } from '../tokens/jira-token-manager.service.js';
import { RateLimitGovernor } from './rate-limit-governor.js';

export interface JiraRequestOptions {
  query?: Record<string, string | number | boolean>;
  body?: unknown;
  /** How long this call may wait for Atlassian's rate limits (default JIRA_RETRY_BUDGET_MS). */
  budgetMs?: number;
}

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
   * One Jira call with a token valid for ≥ 60 s. A 401 (or a 403/404 while the stored expiry says
   * the token may have expired) triggers one forced refresh and one retry, always to the same
   * site as the first attempt; a 401 that persists with the fresh token is a scope problem (502
   * jira_scope_insufficient), never another rotation, and so is a 401, in a later call, for a
   * token a 401-triggered refresh obtained less than JIRA_UNAUTHORIZED_REFRESH_WINDOW_SECONDS ago. Every attempt passes the RateLimitGovernor,
   * which holds it back after a 429 or near a limit, or fails it at once with 503
   * atlassian_rate_limited when it could not go out within the retry budget. Any other status is returned.
   */
  async request<T = unknown>(method: Method, path: string, options: JiraRequestOptions = {}): Promise<JiraResponse<T>> {
    const deadline = this.clock.nowMs() + (options.budgetMs ?? this.retryBudgetMs);
    let credentials = await this.tokens.getCredentials(this.teamId);
    const cloudId = credentials.cloudId;
    let refreshed = false;
    for (let rateLimited = 0; ; ) {
      const call = { tenant: cloudId, method, path };
      await this.governor.acquire(call, deadline);
      const res = await this.send<T>(credentials.accessToken, cloudId, method, path, options).catch((err: unknown) => {
        this.governor.settled(call);
        throw err;
      });
      await this.governor.observe(call, res);
      if (!refreshed && this.tokenRejected(res.status, credentials)) {
        refreshed = true;
        // A 401 for a token a 401-triggered refresh just handed out throws jira_scope_insufficient here.
        const fresh = await this.tokens.refreshRejected(this.teamId, credentials.accessToken, res.status);
        if (fresh.cloudId !== cloudId) return res; // reconnected to another site meanwhile: never switch sites mid-call
        credentials = fresh;
        continue;
      }
      if (res.status === 401 && refreshed) throw scopeInsufficient();
      if (res.status !== 429) return res;
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
  constructor(
    private readonly tokens: JiraTokenManager,
    private readonly gateway: AtlassianGateway,
    private readonly clock: Clock,
    @Inject(jiraConfig.KEY) private readonly config: ConfigType<typeof jiraConfig>,
    private readonly governor: RateLimitGovernor,
  ) {}

  forTeam(teamId: string): TeamJiraClient {
    return new TeamJiraClient(teamId, this.tokens, this.gateway, this.clock, this.config.retryBudgetMs, this.governor);
  }
}
