import { HttpException, HttpStatus } from '@nestjs/common';

/** Codes shared by every feature; features add their own (see jira.errors.ts). */
export enum CommonErrorCode {
  ValidationFailed = 'validation_failed',
  MalformedJson = 'malformed_json',
  /** JSON nested deeper than MAX_BODY_DEPTH, refused before validation walks it. */
  BodyTooDeep = 'body_too_deep',
  PayloadTooLarge = 'payload_too_large',
  UnsupportedMediaType = 'unsupported_media_type',
  Unauthenticated = 'unauthenticated',
  InvalidToken = 'invalid_token',
  /** A genuine token without `exp`, or living longer than AUTH_JWT_MAX_AGE_SECONDS. */
  TokenLifetimeInvalid = 'token_lifetime_invalid',
  TeamHeaderMissing = 'team_header_missing',
  TeamHeaderInvalid = 'team_header_invalid',
  NotTeamMember = 'not_team_member',
  InsufficientRole = 'insufficient_role',
  NotFound = 'not_found',
  MethodNotAllowed = 'method_not_allowed',
  RateLimited = 'rate_limited',
  Forbidden = 'forbidden',
  InternalError = 'internal_error',
}

export interface AppErrorOptions {
  /** Extra members for the problem document (never secrets). */
  extensions?: Record<string, unknown>;
  /** Seconds, sent as `Retry-After`. */
  retryAfter?: number;
  cause?: unknown;
}

/** Where each problem's `type` URI points (RFC 9457 §3.1.1): the code's page. */
export const PROBLEM_TYPE_BASE = 'https://jira-connect.dev/problems/';

/** RFC 9457 problem JSON as the API sends it; `instance` is the request path (added per request). */
export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  code: string;
  [extension: string]: unknown;
}

/**
 * A domain error with a stable machine-readable `code`, mapped to RFC 9457 problem JSON by
 * ProblemDetailsFilter. `detail` is shown to API users: say what happened and what to do next.
 *
 * It is an HttpException whose response is that problem document (without `instance`), so a
 * host's routes that call our exports (JiraClient, JiraTokenManager) answer the right status and
 * the problem body under Nest's own exception handling or any filter that honours HttpException,
 * instead of a 500. The HTTP status is `getStatus()` (HttpException keeps `status` private).
 */
export class AppError extends HttpException {
  readonly extensions: Record<string, unknown>;
  readonly retryAfter?: number;

  constructor(
    readonly code: string,
    status: HttpStatus,
    readonly title: string,
    readonly detail?: string,
    options: AppErrorOptions = {},
  ) {
    const extensions = options.extensions ?? {};
    const body: ProblemDocument = { ...extensions, type: PROBLEM_TYPE_BASE + code, title, status, detail, code };
    super(body, status, { cause: options.cause });
    // HttpException takes the message from `body.message` (absent) or the class name.
    this.message = detail ?? title;
    this.name = 'AppError';
    this.extensions = extensions;
    this.retryAfter = options.retryAfter;
  }

  /** The problem document, without `instance` (ProblemDetailsFilter adds the request path). */
  override getResponse(): ProblemDocument {
    return super.getResponse() as ProblemDocument;
  }
}
