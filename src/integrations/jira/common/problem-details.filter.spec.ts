import { BadRequestException, HttpException, HttpStatus } from '@nestjs/common';
import { ThrottlerException } from '@nestjs/throttler';
import { QueryFailedError } from 'typeorm';
import { describe, expect, it } from 'vitest';
import { AppError } from './app-error.js';
import { toProblem } from './problem-details.filter.js';

/** What body-parser raises, wrapped the way Nest's Express adapter wraps it. */
const bodyParserError = (type: string, status: number) =>
  new HttpException('body error', status, { cause: Object.assign(new Error('raw'), { type, status, expose: true }) });

describe('toProblem', () => {
  it('maps an AppError with its code, extensions and Retry-After', () => {
    const err = new AppError('jira_thing', HttpStatus.CONFLICT, 'Thing', 'Do this next.', { extensions: { a: 1 }, retryAfter: 7 });
    const { problem, retryAfter } = toProblem(err, '/x');
    expect(problem).toEqual({ type: 'https://jira-connect.dev/problems/jira_thing', title: 'Thing', status: 409,
      detail: 'Do this next.', instance: '/x', code: 'jira_thing', a: 1 });
    expect(retryAfter).toBe(7);
  });

  it('makes an AppError an HttpException carrying its status and problem document (for hosts without our filter)', () => {
    const err = new AppError('jira_thing', HttpStatus.CONFLICT, 'Thing', 'Do this next.', { extensions: { a: 1 }, retryAfter: 7 });
    expect(err).toBeInstanceOf(HttpException);
    expect(err.getStatus()).toBe(409);
    expect(err.message).toBe('Do this next.');
    const { instance, ...problem } = toProblem(err, '/x').problem;
    expect(instance).toBe('/x');
    expect(err.getResponse()).toEqual(problem);
    expect(JSON.stringify(toProblem(err, '/x').problem)).toBe(
      '{"a":1,"type":"https://jira-connect.dev/problems/jira_thing","title":"Thing","status":409,"detail":"Do this next.","instance":"/x","code":"jira_thing"}');
  });

  it('classifies body-parser failures by their own type and status', () => {
    expect(toProblem(bodyParserError('entity.parse.failed', 400)).problem).toMatchObject({ status: 400, code: 'malformed_json' });
    expect(toProblem(bodyParserError('entity.too.large', 413)).problem).toMatchObject({ status: 413, code: 'payload_too_large' });
    expect(toProblem(bodyParserError('charset.unsupported', 415)).problem).toMatchObject({ status: 415, code: 'unsupported_media_type' });
  });

  it('lists validation messages', () => {
    const { problem } = toProblem(new BadRequestException(['name must be a string', 'property extra should not exist']));
    expect(problem).toMatchObject({ status: 400, code: 'validation_failed', errors: ['name must be a string', 'property extra should not exist'] });
  });

  it('maps the throttler to 429 rate_limited', () => {
    expect(toProblem(new ThrottlerException()).problem).toMatchObject({ status: 429, code: 'rate_limited' });
  });

  it('maps driver and pool errors of an unavailable database to 503 database_unavailable with Retry-After', () => {
    const sqlState = (code: string) => new QueryFailedError('SELECT 1', [], Object.assign(new Error('db says no'), { code }));
    const refused = Object.assign(new AggregateError([Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })], ''), { code: 'ECONNREFUSED' });
    const unavailable = [
      sqlState('57014'), // statement_timeout
      sqlState('57P01'), // terminating connection due to administrator command
      sqlState('08006'),
      sqlState('53300'),
      refused,
      new Error('timeout exceeded when trying to connect'),
      new Error('Connection terminated due to connection timeout'),
      new QueryFailedError('SELECT 1', [], new Error('Connection terminated unexpectedly')),
      new QueryFailedError('SELECT 1', [], new Error('Query read timeout')),
    ];
    for (const err of unavailable) {
      const { problem, retryAfter } = toProblem(err, '/x');
      expect(problem, String(err)).toMatchObject({ status: 503, code: 'database_unavailable' });
      expect(retryAfter).toBeGreaterThan(0);
      expect(JSON.stringify(problem)).not.toMatch(/127\.0\.0\.1|SELECT/);
    }
  });

  it('keeps other database errors, and other services\' socket errors, as 500', () => {
    const unique = new QueryFailedError('INSERT', [], Object.assign(new Error('duplicate key'), { code: '23505' }));
    const axiosRefused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', isAxiosError: true });
    for (const err of [unique, axiosRefused]) expect(toProblem(err).problem).toMatchObject({ status: 500, code: 'internal_error' });
  });

  it('answers unknown errors with a bare 500 that reveals nothing', () => {
    const { problem } = toProblem(new Error('connection to db-7.internal:5432 refused, token at-123'));
    expect(problem).toMatchObject({ status: 500, code: 'internal_error' });
    expect(JSON.stringify(problem)).not.toMatch(/db-7|at-123/);
  });
});
