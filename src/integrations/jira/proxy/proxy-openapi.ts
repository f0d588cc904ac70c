import { applyDecorators } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiParam, ApiResponse } from '@nestjs/swagger';
import { CommonErrorCode } from '../common/app-error.js';
import { JiraErrorCode } from '../jira.errors.js';
import { PROXY_PROBLEM_HEADER } from './proxy-headers.js';

/** What every proxy route may answer itself, besides the caller's authentication problems. */
export const PROXY_PROBLEMS = {
  400: [JiraErrorCode.InvalidJiraPath],
  403: [JiraErrorCode.ProxyForbidden],
  405: [CommonErrorCode.MethodNotAllowed],
  409: [JiraErrorCode.NotConnected, JiraErrorCode.ReauthorizationRequired],
  413: [CommonErrorCode.PayloadTooLarge],
  502: [JiraErrorCode.ScopeInsufficient, JiraErrorCode.ResponseTooLarge, JiraErrorCode.AtlassianClientRejected],
  503: [JiraErrorCode.AtlassianRateLimited, JiraErrorCode.AtlassianUnavailable, JiraErrorCode.RefreshLockTimeout, JiraErrorCode.CredentialsUnreadable],
};

const PASSED_THROUGH = 'Jira\'s own answer, passed through as it is: its status (any 2xx-5xx, including Jira\'s 4xx and 429), body and '
  + 'content type, with its rate-limit headers (X-RateLimit-*, RateLimit-*, Retry-After) and caching headers. It never carries '
  + `${PROXY_PROBLEM_HEADER}. See Jira Cloud REST API documentation for the body.`;

/**
 * The OpenAPI of one proxy route and method: the path parameter (the rest of the path, e.g.
 * `rest/api/3/myself`), the rules, and Jira's answers as a pass-through default response.
 */
export function ApiJiraProxy(method: string, who: 'spa' | 'admin'): MethodDecorator {
  const rules = who === 'spa'
    ? 'JIRA_PROXY_RULES (default `GET /rest/api/3/**, GET /rest/agile/1.0/**`; a rule may name a minimum team role)'
    : 'JIRA_ADMIN_PROXY_RULES (default `* /rest/**`)';
  return applyDecorators(
    ApiOperation({
      summary: who === 'spa' ? `Jira REST for the caller's team (${method})` : `Jira REST for a team, service to service (${method})`,
      description: `Calls \`https://api.atlassian.com/ex/jira/{the team's cloudId}/{jiraPath}\` with the team's token (refreshed as needed), `
        + `the query string, body and content type as sent, and only the Content-Type, Accept, Accept-Language, Accept-Encoding and `
        + `X-Atlassian-Token headers. Allowed calls: ${rules}. Paths with dot segments (also %2e, %252e), backslashes, empty segments, `
        + `absolute URLs or outside the rules answer 400 invalid_jira_path; calls no rule allows answer 403 jira_proxy_forbidden; `
        + `nothing is sent to Jira then. Answers made by jira-connect carry \`${PROXY_PROBLEM_HEADER}: 1\`. `
        + (method === 'GET' || method === 'PUT' || method === 'DELETE'
          ? 'Retried after a 429 within JIRA_RETRY_BUDGET_MS; '
          : 'Never retried after a 429 (Jira\'s 429 is passed through); ')
        + 'while Atlassian\'s Retry-After runs, calls answer 503 atlassian_rate_limited at once without reaching Atlassian. See docs/proxy.md.',
    }),
    ApiParam({
      name: 'jiraPath',
      required: true,
      description: 'The Jira REST path after the proxy prefix, starting with `rest/`, e.g. `rest/api/3/myself` (slashes are part of it).',
      schema: { type: 'string', example: 'rest/api/3/myself' },
    }),
    ...(method === 'GET' ? [] : [ApiHeader({ name: 'X-Atlassian-Token', required: false, description: 'Passed to Jira (`no-check` for the endpoints that need it).' })]),
    ApiResponse({
      status: 'default',
      description: PASSED_THROUGH,
      content: { '*/*': { schema: { type: 'string', format: 'binary' } } },
    }),
  );
}
