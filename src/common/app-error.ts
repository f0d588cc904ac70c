import { HttpStatus } from '@nestjs/common';

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

/**
 * A domain error with a stable machine-readable `code`, mapped to RFC 9457 problem JSON by
 * ProblemDetailsFilter. `detail` is shown to API users: say what happened and what to do next.
 */
export class AppError extends Error {
  readonly extensions: Record<string, unknown>;
  readonly retryAfter?: number;

  constructor(
    readonly code: string,
    readonly status: HttpStatus,
    readonly title: string,
    readonly detail?: string,
    options: AppErrorOptions = {},
  ) {
    super(detail ?? title, { cause: options.cause });
    this.name = 'AppError';
    this.extensions = options.extensions ?? {};
    this.retryAfter = options.retryAfter;
  }
}
