import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { ThrottlerException } from '@nestjs/throttler';
import type { Request, Response } from 'express';
import { databaseUnavailable, isDatabaseUnavailable } from '../database/database-unavailable.js';
import { AppError, CommonErrorCode, PROBLEM_TYPE_BASE, type ProblemDocument } from './app-error.js';
import { JSON_BODY_LIMIT_BYTES } from './http/body-limits.js';

export type { ProblemDocument } from './app-error.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
const TYPE_BASE = PROBLEM_TYPE_BASE;

const STATUS_CODES: Partial<Record<number, string>> = {
  400: CommonErrorCode.ValidationFailed,
  401: CommonErrorCode.Unauthenticated,
  403: CommonErrorCode.Forbidden,
  404: CommonErrorCode.NotFound,
  405: CommonErrorCode.MethodNotAllowed,
  413: CommonErrorCode.PayloadTooLarge,
  415: CommonErrorCode.UnsupportedMediaType,
  503: 'service_unavailable',
  429: CommonErrorCode.RateLimited,
};

/** Errors raised by body-parser before Nest sees the request (bad JSON, too large, bad charset). */
interface BodyParserError {
  type: string;
  status?: number;
  statusCode?: number;
  expose?: boolean;
}

/** Human texts for body-parser's error types (its own `type` strings mean nothing to API users). */
const BODY_PARSER_TEXTS: Record<string, { title: string; detail: string }> = {
  'entity.parse.failed': {
    title: 'The request body is not valid JSON',
    detail: 'Send a well-formed JSON document with Content-Type: application/json.',
  },
  'entity.too.large': {
    title: 'The request body is too large',
    detail: `Request bodies may be at most ${JSON_BODY_LIMIT_BYTES / 1024} kB (${JSON_BODY_LIMIT_BYTES} bytes): send less.`,
  },
};

function isBodyParserError(e: unknown): e is BodyParserError {
  return typeof e === 'object' && e !== null && typeof (e as BodyParserError).type === 'string'
    && typeof ((e as BodyParserError).status ?? (e as BodyParserError).statusCode) === 'number';
}

/** The document with the request path as `instance` (members in the order the API always sent them). */
function withInstance(doc: ProblemDocument, instance: string | undefined): ProblemDocument {
  const { code, ...rest } = doc;
  return { ...rest, instance, code };
}

/** Builds the RFC 9457 document for any thrown value; unknown errors become a bare 500. */
export function toProblem(thrown: unknown, instance?: string): { problem: ProblemDocument; retryAfter?: number } {
  // Nest wraps body-parser failures in an HttpException; classify them by the original error.
  const unwrapped = thrown instanceof HttpException && isBodyParserError(thrown.cause) ? thrown.cause : thrown;
  // A stopped, frozen or overloaded database is a 503 to retry, not a bug (driver and pool errors).
  const exception = isDatabaseUnavailable(unwrapped) ? databaseUnavailable(unwrapped) : unwrapped;
  if (exception instanceof AppError) {
    return {
      // The error's own problem document (AppError.getResponse), placed at this request's path.
      problem: withInstance(exception.getResponse(), instance),
      retryAfter: exception.retryAfter,
    };
  }
  if (exception instanceof ThrottlerException) {
    return {
      problem: {
        type: TYPE_BASE + CommonErrorCode.RateLimited,
        title: 'Too many requests',
        status: 429,
        detail: 'Slow down: retry after the number of seconds in the Retry-After header.',
        instance,
        code: CommonErrorCode.RateLimited,
      },
    };
  }
  if (isBodyParserError(exception)) {
    const status = exception.status ?? exception.statusCode ?? 400;
    // A body that cannot be read as JSON (bad syntax, aborted, bad length) is malformed_json.
    const code = status === 413 || status === 415 ? STATUS_CODES[status]! : CommonErrorCode.MalformedJson;
    const { title, detail } = BODY_PARSER_TEXTS[exception.type] ?? {
      title: 'The request body could not be read',
      detail: 'Send a JSON document (UTF-8) with Content-Type: application/json.',
    };
    return {
      problem: { type: TYPE_BASE + code, title, status: status >= 400 && status < 500 ? status : 400, detail, instance, code },
    };
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const body = exception.getResponse();
    const message = typeof body === 'string' ? body : (body as { message?: unknown }).message;
    const code = STATUS_CODES[status] ?? (status >= 500 ? CommonErrorCode.InternalError : 'http_' + status);
    // validation_failed always lists its messages (ParseBoolPipe and friends send a single string).
    const errors = Array.isArray(message) ? message.map(String)
      : code === CommonErrorCode.ValidationFailed && typeof message === 'string' ? [message] : undefined;
    return {
      problem: {
        type: TYPE_BASE + code,
        title: errors ? 'The request is invalid' : exception.message,
        status,
        detail: errors ? errors.join('; ') : typeof message === 'string' ? message : undefined,
        instance,
        code,
        ...(errors ? { errors } : {}),
      },
    };
  }
  return {
    problem: {
      type: TYPE_BASE + CommonErrorCode.InternalError,
      title: 'Internal server error',
      status: 500,
      detail: 'Something went wrong on our side. Try again; if it keeps happening, contact support.',
      instance,
      code: CommonErrorCode.InternalError,
    },
  };
}

/** The single place errors become HTTP: RFC 9457 problem JSON with a stable `code`. */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemDetails');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const res = http.getResponse<Response>();
    const req = http.getRequest<Request>();
    const { problem, retryAfter } = toProblem(exception, req?.originalUrl?.split('?')[0]);
    if (problem.status >= 500) {
      // Log the error's class and message only; stack traces can carry request data.
      const err = exception instanceof Error ? exception : new Error(String(exception));
      // `problemCode`, not `code`: the logger redacts every `code` member (OAuth codes).
      this.logger.error({ err: { type: err.name, message: err.message }, problemCode: problem.code, msg: 'request failed' });
    }
    if (res.headersSent) return;
    if (retryAfter !== undefined) res.setHeader('Retry-After', String(Math.max(0, Math.ceil(retryAfter))));
    res.status(problem.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem));
  }
}
