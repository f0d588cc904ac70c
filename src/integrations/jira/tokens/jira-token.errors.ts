import { HttpStatus } from '@nestjs/common';
import type { AtlassianTokenError } from '../atlassian/atlassian.gateway.js';
import { JiraError, JiraErrorCode } from '../jira.errors.js';

/*
 * The errors JiraTokenManager and JiraClient throw at their callers. Each says what to do next;
 * none carries a token or Atlassian's raw response.
 */

export const notConnected = (): JiraError =>
  new JiraError(JiraErrorCode.NotConnected, HttpStatus.CONFLICT, 'Jira is not connected',
    'Connect Jira for this team first (an owner or admin can do it from the integrations page).');

export const siteNotChosen = (): JiraError =>
  new JiraError(JiraErrorCode.NotConnected, HttpStatus.CONFLICT, 'No Jira site chosen yet',
    'Pick one of the available sites with PUT /api/integrations/jira/site, then try again.');

export const reauthorizationRequired = (): JiraError =>
  new JiraError(JiraErrorCode.ReauthorizationRequired, HttpStatus.CONFLICT, 'Jira must be connected again',
    'Atlassian no longer accepts this connection (revoked, expired or reused grant). An owner or admin must connect Jira again.');

/** `serviceAccount`: the refusal was of a service account's mint (its own credential, not the app's). */
export const clientRejected = (cause: AtlassianTokenError, serviceAccount = false): JiraError => serviceAccount
  ? new JiraError(JiraErrorCode.AtlassianClientRejected, HttpStatus.BAD_GATEWAY, 'Atlassian refused the service account\'s token request',
    'The service account\'s credential was accepted before but this request was refused (for example a scope it no longer has). '
    + 'An owner or admin can store a new credential with PUT /api/integrations/jira/service-account.', { cause })
  : new JiraError(JiraErrorCode.AtlassianClientRejected, HttpStatus.BAD_GATEWAY, 'Atlassian rejected this service\'s credentials',
    'The Atlassian app credentials (JIRA_CLIENT_ID / JIRA_CLIENT_SECRET) are wrong or disabled; an operator must fix them. The connection itself is kept.',
    { cause });

/** After retries: 5xx/timeouts (atlassian_unavailable) or 429 (atlassian_rate_limited); stored tokens untouched. */
export const atlassianUnavailable = (httpStatus: number | undefined, retryAfterSeconds: number, cause?: unknown): JiraError =>
  httpStatus === 429
    ? new JiraError(JiraErrorCode.AtlassianRateLimited, HttpStatus.SERVICE_UNAVAILABLE, 'Atlassian is rate limiting this service',
      'Try again after the number of seconds in the Retry-After header.', { retryAfter: retryAfterSeconds, cause })
    : new JiraError(JiraErrorCode.AtlassianUnavailable, HttpStatus.SERVICE_UNAVAILABLE, 'Atlassian is not answering',
      'Atlassian could not be reached or failed; the Jira connection is intact. Try again shortly.', { retryAfter: retryAfterSeconds, cause });

export const refreshLockTimeout = (): JiraError =>
  new JiraError(JiraErrorCode.RefreshLockTimeout, HttpStatus.SERVICE_UNAVAILABLE, 'The Jira token is being refreshed',
    'Another request is refreshing this team\'s Jira token and took too long. Try again in a moment.', { retryAfter: 1 });

export const credentialsUnreadable = (): JiraError =>
  new JiraError(JiraErrorCode.CredentialsUnreadable, HttpStatus.SERVICE_UNAVAILABLE, 'The stored Jira credentials cannot be read',
    'They were encrypted with a key this service no longer has (ENCRYPTION_KEY / ENCRYPTION_PREVIOUS_KEYS). An operator must restore the key; '
    + 'otherwise an owner or admin must connect Jira again.', { retryAfter: 60 });

export const scopeInsufficient = (): JiraError =>
  new JiraError(JiraErrorCode.ScopeInsufficient, HttpStatus.BAD_GATEWAY, 'Jira refused a freshly refreshed token',
    'Jira answered 401 again right after the token was refreshed: the connection lacks a scope or permission this call needs. '
    + 'An owner or admin can connect Jira again with the required scopes.');
