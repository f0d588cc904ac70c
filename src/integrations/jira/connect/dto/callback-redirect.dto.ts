import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { ProblemSet } from '../../common/api-problems.decorator.js';
import { JiraErrorCode } from '../../jira.errors.js';

/**
 * The callback's own failures, by status: answered as problem JSON without a returnTo, or sent
 * to returnTo as `?jira=error&code=...` (JiraOAuthService.callback returns them, never throws).
 */
export const CALLBACK_PROBLEMS = {
  400: [JiraErrorCode.StateMissing, JiraErrorCode.StateInvalid, JiraErrorCode.StateExpired, JiraErrorCode.StateReplayed,
    JiraErrorCode.AuthorizationFailed, JiraErrorCode.CodeExchangeFailed],
  403: [JiraErrorCode.BindingMissing, JiraErrorCode.BindingMismatch, JiraErrorCode.AccessDenied, JiraErrorCode.AuthorizationFailed],
  409: [JiraErrorCode.StateSuperseded],
  422: [JiraErrorCode.NoAccessibleSites],
  502: [JiraErrorCode.AtlassianUnavailable, JiraErrorCode.AtlassianClientRejected, JiraErrorCode.AuthorizationFailed],
} satisfies ProblemSet;

/** The codes a redirect to returnTo can carry, each once. */
export const CALLBACK_REDIRECT_CODES: JiraErrorCode[] = [...new Set(Object.values(CALLBACK_PROBLEMS).flat())].sort();

/** The query string the callback adds to returnTo (`Location` of its 302): what the returnTo page reads. */
export class CallbackRedirectQueryDto {
  @ApiProperty({ enum: ['connected', 'pending_site_selection', 'error'], description: 'The outcome of the connection attempt.' })
  jira: 'connected' | 'pending_site_selection' | 'error';

  @ApiPropertyOptional({ enum: CALLBACK_REDIRECT_CODES, description: 'With jira=error only: the problem code, as the callback would answer it.' })
  code?: JiraErrorCode;
}
