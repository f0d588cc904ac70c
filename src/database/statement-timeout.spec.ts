import { describe, expect, it } from 'vitest';
import { planStatement, setLocalStatementTimeout, type StatementPlan, type TransactionStatus } from './statement-timeout.js';

describe('planStatement: how a statement gets the server-side timeout', () => {
  const cases: [string, TransactionStatus, StatementPlan][] = [
    // Opening a transaction carries the SET LOCAL.
    ['START TRANSACTION', 'I', 'begin-with-timeout'],
    ['BEGIN', 'I', 'begin-with-timeout'],
    ['  begin isolation level serializable', 'I', 'begin-with-timeout'],
    ['BEGIN; SELECT 1', 'I', 'as-is'],
    // A lone statement runs in a transaction of its own.
    ['SELECT 1', 'I', 'wrap'],
    ['UPDATE jira_integrations SET x = $1', 'I', 'wrap'],
    ['-- comment\nINSERT INTO t VALUES (1)', 'I', 'wrap'],
    ['/* c */ WITH x AS (SELECT 1) SELECT * FROM x', 'I', 'wrap'],
    ['SET TRANSACTION ISOLATION LEVEL SERIALIZABLE', 'I', 'wrap'],
    // Inside a transaction (ok or failed) its SET LOCAL already holds; unknown status: leave alone.
    ['SELECT 1', 'T', 'as-is'],
    ['SET TRANSACTION ISOLATION LEVEL SERIALIZABLE', 'T', 'as-is'],
    ['COMMIT', 'T', 'as-is'],
    ['ROLLBACK', 'E', 'as-is'],
    ['START TRANSACTION', 'T', 'as-is'],
    ['SELECT 1', null, 'as-is'],
    // Transaction control outside a transaction, and statements PostgreSQL refuses in one.
    ['COMMIT', 'I', 'as-is'],
    ['ROLLBACK', 'I', 'as-is'],
    ['SAVEPOINT a', 'I', 'as-is'],
    ['COMMIT PREPARED \'x\'', 'I', 'as-is'],
    ['CREATE DATABASE "x" TEMPLATE "y"', 'I', 'as-is'],
    ['drop database if exists x', 'I', 'as-is'],
    ['VACUUM ANALYZE t', 'I', 'as-is'],
    ['CREATE INDEX CONCURRENTLY i ON t (a)', 'I', 'as-is'],
    ['CREATE UNIQUE INDEX i ON t (a)', 'I', 'wrap'],
    ['REINDEX TABLE CONCURRENTLY t', 'I', 'as-is'],
    ['ALTER TYPE mood ADD VALUE \'meh\'', 'I', 'as-is'],
    ['', 'I', 'as-is'],
  ];
  it.each(cases)('%j with status %s: %s', (sql, status, plan) => {
    expect(planStatement(sql, status)).toBe(plan);
  });
});

describe('setLocalStatementTimeout', () => {
  it('inlines a validated integer and refuses anything else', () => {
    expect(setLocalStatementTimeout(1500)).toBe('SET LOCAL statement_timeout = 1500');
    expect(() => setLocalStatementTimeout(1.5)).toThrow(RangeError);
    expect(() => setLocalStatementTimeout(Number.NaN)).toThrow(RangeError);
    expect(() => setLocalStatementTimeout(-1)).toThrow(RangeError);
  });
});
