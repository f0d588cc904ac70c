import { HttpStatus } from '@nestjs/common';
import { AppError } from '../common/app-error.js';

export const DATABASE_UNAVAILABLE = 'database_unavailable';
/** Seconds a client is asked to wait before retrying. */
const RETRY_AFTER_SECONDS = 5;

/*
 * SQLSTATEs meaning "the database cannot serve this now", not "this request is wrong":
 * class 08 (connection exception), 57014 (statement timeout / cancelled), 57P01-57P03 (admin or
 * crash shutdown, cannot connect now), 53300 (too many connections).
 */
const UNAVAILABLE_SQLSTATE = /^(08...|57014|57P0[123]|53300)$/;
/** Socket errors of the connection to the database. */
const UNAVAILABLE_SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH',
  'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED']);
/** Messages of node-postgres / pg-pool (and our PGlite pool, which reuses the first) that carry no code. */
const UNAVAILABLE_MESSAGES = [
  /^timeout exceeded when trying to connect$/,
  /^Connection terminated/,
  /^Query read timeout$/,
  /not queryable/,
  /^Cannot use a pool after calling end/,
];

interface ErrorLike {
  message?: unknown;
  code?: unknown;
  cause?: unknown;
  driverError?: unknown;
  errors?: unknown;
  isAxiosError?: unknown;
}

/**
 * Whether `thrown` (or what it wraps: TypeORM's `driverError`, `cause`, an AggregateError's
 * `errors`) says the database is stopped, frozen, overloaded or out of reach. HTTP errors of
 * other services (axios) never count, even with the same socket codes.
 */
export function isDatabaseUnavailable(thrown: unknown, depth = 0): boolean {
  if (typeof thrown !== 'object' || thrown === null || depth > 4) return false;
  const e = thrown as ErrorLike;
  if (e.isAxiosError === true || thrown instanceof AppError) return false;
  const code = typeof e.code === 'string' ? e.code : '';
  if (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_SOCKET_CODES.has(code)) return true;
  if (typeof e.message === 'string' && UNAVAILABLE_MESSAGES.some((m) => m.test(e.message as string))) return true;
  const nested = [e.driverError, e.cause, ...(Array.isArray(e.errors) ? e.errors : [])];
  return nested.some((n) => n !== thrown && isDatabaseUnavailable(n, depth + 1));
}

/** 503 problem for any route that needed the database while it could not answer. */
export function databaseUnavailable(cause?: unknown): AppError {
  return new AppError(DATABASE_UNAVAILABLE, HttpStatus.SERVICE_UNAVAILABLE, 'Database unavailable',
    'The database did not answer in time. Retry after the number of seconds in the Retry-After header.',
    { retryAfter: RETRY_AFTER_SECONDS, cause });
}
