import { HttpStatus } from '@nestjs/common';
import { AppError, type AppErrorOptions } from './common/app-error.js';

/** Every failure the Jira integration reports, as the `code` member of the problem JSON. */
export enum JiraErrorCode {
  NotConfigured = 'jira_not_configured',
  InvalidSiteUrl = 'invalid_site_url',
  ReturnToNotAllowed = 'return_to_not_allowed',
  StateMissing = 'oauth_state_missing',
  StateInvalid = 'oauth_state_invalid',
  StateExpired = 'oauth_state_expired',
  StateReplayed = 'oauth_state_replayed',
  StateSuperseded = 'oauth_state_superseded',
  BindingMismatch = 'oauth_binding_mismatch',
  BindingMissing = 'oauth_binding_missing',
  AccessDenied = 'oauth_access_denied',
  AuthorizationFailed = 'oauth_authorization_failed',
  CodeExchangeFailed = 'oauth_code_exchange_failed',
  NoAccessibleSites = 'jira_no_accessible_sites',
  SiteNotAccessible = 'jira_site_not_accessible',
  NotConnected = 'jira_not_connected',
  /** Atlassian refused a service account's client id/secret (invalid_client, unauthorized_client, access_denied). */
  ServiceAccountRejected = 'jira_service_account_rejected',
  NoPendingSiteSelection = 'jira_no_pending_site_selection',
  ReauthorizationRequired = 'jira_reauthorization_required',
  AtlassianUnavailable = 'atlassian_unavailable',
  AtlassianRateLimited = 'atlassian_rate_limited',
  AtlassianClientRejected = 'atlassian_client_rejected',
  RefreshLockTimeout = 'jira_refresh_lock_timeout',
  JiraRequestFailed = 'jira_request_failed',
  /** Stored tokens cannot be decrypted (wrong ENCRYPTION_KEY, a missing previous key, or tampering). */
  CredentialsUnreadable = 'jira_credentials_unreadable',
  /** Jira keeps answering 401 to a token just refreshed: the grant lacks a scope the call needs. */
  ScopeInsufficient = 'jira_scope_insufficient',
  /** A proxy path with dot segments, backslashes, empty segments, or outside Jira's REST space (nothing sent). */
  InvalidJiraPath = 'invalid_jira_path',
  /** No proxy rule allows this method and path for this caller (nothing sent). */
  ProxyForbidden = 'jira_proxy_forbidden',
  /** Jira announced an answer larger than JIRA_PROXY_MAX_RESPONSE_KB. */
  ResponseTooLarge = 'jira_response_too_large',
  WebhookUnauthorized = 'jira_webhook_unauthorized',
  WebhookPayloadInvalid = 'jira_webhook_payload_invalid',
}

/** The one error class of the Jira feature; ProblemDetailsFilter turns it into HTTP. */
export class JiraError extends AppError {
  constructor(code: JiraErrorCode, status: HttpStatus, title: string, detail?: string, options?: AppErrorOptions) {
    super(code, status, title, detail, options);
    this.name = 'JiraError';
  }
}
