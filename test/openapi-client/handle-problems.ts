/*
 * What a SPA team writes against the client generated from /api/docs-json (openapi-typescript):
 * an exhaustive handler for every problem code of authorize, callback and the Jira proxies (SPA and admin). `scripts/openapi-client-check.sh`
 * generates ./generated/api.d.ts from the served document and type-checks this file, so a code
 * added to (or removed from) either route's documentation breaks CI until it is handled here.
 */
import type { components, paths } from './generated/api.js';

type Problem = components['schemas']['Problem'];
type ProblemBody<R> = R extends { content: { 'application/problem+json': infer B } } ? B : never;
/** Every problem document an operation can answer, over all its statuses. */
type ProblemsOf<Op extends { responses: object }> = { [S in keyof Op['responses']]: ProblemBody<Op['responses'][S]> }[keyof Op['responses']];

export type AuthorizeProblem = ProblemsOf<paths['/api/integrations/jira/oauth/authorize']['post']>;
export type CallbackProblem = ProblemsOf<paths['/api/integrations/jira/oauth/callback']['get']>;
/** What the callback sends back to returnTo as `?jira=error&code=...`. */
export type CallbackErrorCode = CallbackProblem['code'];

function unhandled(problem: never): never {
  throw new Error(`unhandled problem ${JSON.stringify(problem)}`);
}

/** Every problem is still a Problem: title, status and detail are always there to fall back on. */
const fallback = (p: Problem): string => p.detail ?? p.title;

export function authorizeMessage(p: AuthorizeProblem): string {
  switch (p.code) {
    case 'validation_failed':
      return `Please check the form: ${p.errors.join('; ')}`;
    case 'malformed_json':
    case 'body_too_deep':
    case 'payload_too_large':
    case 'unsupported_media_type':
      return `The app sent a broken request (${p.code}).`;
    case 'unauthenticated':
    case 'invalid_token':
    case 'token_lifetime_invalid':
      return 'Please sign in again.';
    case 'team_header_missing':
    case 'team_header_invalid':
    case 'not_team_member':
      return 'Choose one of your teams first.';
    case 'insufficient_role':
      return 'Only team owners and admins can connect Jira.';
    case 'invalid_site_url':
      return 'That does not look like a Jira Cloud site (acme.atlassian.net).';
    case 'return_to_not_allowed':
      return 'This page may not receive the result of the connection.';
    case 'rate_limited':
      return 'Too many attempts: wait a moment.';
    case 'jira_not_configured':
      return 'Jira is not set up on this server yet.';
    case 'team_access_unavailable':
      return 'Your team membership cannot be checked right now: try again shortly.';
    case 'database_unavailable':
      return 'The service is briefly unavailable: try again in a few seconds.';
    case 'internal_error':
      return fallback(p);
    default:
      return unhandled(p);
  }
}

export function callbackMessage(p: CallbackProblem): string {
  switch (p.code) {
    case 'oauth_state_missing':
    case 'oauth_state_invalid':
    case 'oauth_state_expired':
    case 'oauth_state_replayed':
      return 'This connection link is no longer valid: start again.';
    case 'oauth_state_superseded':
      return 'A newer attempt to connect Jira replaced this one: finish that one, or start again.';
    case 'database_unavailable':
      return 'The service is briefly unavailable: try again in a few seconds.';
    case 'oauth_binding_missing':
    case 'oauth_binding_mismatch':
      return 'Finish connecting in the same browser you started in.';
    case 'oauth_access_denied':
      return 'Access to Jira was not granted.';
    case 'oauth_authorization_failed':
    case 'oauth_code_exchange_failed':
      return 'Atlassian did not complete the authorization: try again.';
    case 'jira_no_accessible_sites':
      return 'Your Atlassian account has no Jira site to connect.';
    case 'atlassian_unavailable':
    case 'atlassian_client_rejected':
      return 'Atlassian is not answering: try again shortly.';
    case 'rate_limited':
      return 'Too many attempts: wait a moment.';
    case 'internal_error':
      return fallback(p);
    default:
      return unhandled(p);
  }
}

/** What the callback adds to returnTo's query string (`x-redirect-query` of its 302). */
export type CallbackRedirectQuery = components['schemas']['CallbackRedirectQueryDto'];
/** Every code the redirect carries is one the callback documents as a problem. */
const asCallbackCode = (c: NonNullable<CallbackRedirectQuery['code']>): CallbackErrorCode => c;

/** The returnTo page reads the same codes from its query string. */
export function returnToMessage(query: CallbackRedirectQuery): string | undefined {
  switch (query.jira) {
    case 'connected':
      return undefined;
    case 'pending_site_selection':
      return 'Choose which Jira site to connect.';
    case 'error':
      return query.code ? `Jira connection failed (${asCallbackCode(query.code)}).` : 'Jira connection failed.';
    default:
      return unhandled(query.jira);
  }
}

/** The connection's codes (verification.code, lastError.code) are JiraErrorCode, not any string. */
export const needsReconnect = (c: components['schemas']['JiraErrorCode']): boolean =>
  c === 'jira_reauthorization_required' || c === 'jira_scope_insufficient';

type SpaProxy = paths['/api/integrations/jira/proxy/{jiraPath}'];
type AdminProxy = paths['/api/admin/teams/{teamId}/jira/{jiraPath}'];
/** jira-connect's own answers on the SPA's Jira proxy (marked X-Jira-Connect-Problem: 1), over every method. */
export type JiraProxyProblem = ProblemsOf<SpaProxy['get']> | ProblemsOf<SpaProxy['post']> | ProblemsOf<SpaProxy['put']>
  | ProblemsOf<SpaProxy['patch']> | ProblemsOf<SpaProxy['delete']>;
/** The same for a backend's proxy (admin key). */
export type AdminJiraProxyProblem = ProblemsOf<AdminProxy['get']> | ProblemsOf<AdminProxy['post']> | ProblemsOf<AdminProxy['put']>
  | ProblemsOf<AdminProxy['patch']> | ProblemsOf<AdminProxy['delete']>;
/** The proxy's path parameter is the Jira path (`rest/api/3/myself`). */
export const myselfPath: SpaProxy['get']['parameters']['path'] = { jiraPath: 'rest/api/3/myself' };

/** A SPA tells its own problems (X-Jira-Connect-Problem: 1) from Jira's answers, which it handles as Jira documents them. */
export function jiraProxyMessage(p: JiraProxyProblem): string {
  switch (p.code) {
    case 'unauthenticated':
    case 'invalid_token':
    case 'token_lifetime_invalid':
      return 'Please sign in again.';
    case 'team_header_missing':
    case 'team_header_invalid':
    case 'not_team_member':
      return 'Choose one of your teams first.';
    case 'invalid_jira_path':
    case 'method_not_allowed':
      return `The app asked Jira for something the proxy never sends (${p.code}).`;
    case 'jira_proxy_forbidden':
      return 'This Jira action is not available here.';
    case 'payload_too_large':
    case 'jira_response_too_large':
      return 'That is too much data for one request.';
    case 'jira_not_connected':
      return 'Connect Jira first.';
    case 'jira_reauthorization_required':
    case 'jira_scope_insufficient':
      return 'Jira must be connected again.';
    case 'rate_limited':
    case 'atlassian_rate_limited':
      return 'Too many Jira requests: wait a moment.';
    case 'atlassian_unavailable':
    case 'atlassian_client_rejected':
    case 'jira_refresh_lock_timeout':
    case 'jira_credentials_unreadable':
    case 'database_unavailable':
    case 'team_access_unavailable':
      return 'Jira is briefly unavailable: try again shortly.';
    case 'internal_error':
      return fallback(p);
    default:
      return unhandled(p);
  }
}

/** A backend retries what is temporary and reports the rest. */
export function adminJiraProxyRetryable(p: AdminJiraProxyProblem): boolean {
  switch (p.code) {
    case 'atlassian_rate_limited':
    case 'atlassian_unavailable':
    case 'jira_refresh_lock_timeout':
    case 'database_unavailable':
      return true;
    case 'unauthenticated':
    case 'invalid_admin_key':
    case 'not_found':
    case 'invalid_id':
    case 'invalid_jira_path':
    case 'method_not_allowed':
    case 'jira_proxy_forbidden':
    case 'payload_too_large':
    case 'jira_response_too_large':
    case 'jira_not_connected':
    case 'jira_reauthorization_required':
    case 'jira_scope_insufficient':
    case 'atlassian_client_rejected':
    case 'jira_credentials_unreadable':
    case 'internal_error':
      return false;
    default:
      return unhandled(p);
  }
}
