import { describe, expect, it } from 'vitest';
import { classifyConnectFailure, describeDatabase, type ConnectFailureKind } from './connect-failure.js';

/** Shaped as node-postgres reports them (a DatabaseError carries the SQLSTATE in `code`). */
const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });
const socketError = (code: string, message: string) => Object.assign(new Error(message), { code, errno: -1 });

describe('classifyConnectFailure: stop at once, or retry', () => {
  const cases: [string, unknown, ConnectFailureKind, RegExp][] = [
    ['wrong password', pgError('28P01', 'password authentication failed for user "app"'), 'refused', /user and password/],
    ['no pg_hba entry', pgError('28000', 'no pg_hba.conf entry for host'), 'refused', /user and password/],
    ['PgBouncer: wrong password', pgError('08P01', 'password authentication failed'), 'refused', /user and password/],
    ['no such database', pgError('3D000', 'database "x" does not exist'), 'refused', /Create that database.*migration:run/],
    ['no CONNECT privilege', pgError('42501', 'permission denied for database x'), 'refused', /Grant the user CONNECT/],
    ['PgBouncer: startup parameter', pgError('08P01', 'unsupported startup parameter: options'), 'refused', /remove the parameter from DATABASE_URL/],
    ['PgBouncer: unknown database', pgError('08P01', 'no such database: x'), 'refused', /\[databases\]/],
    ['TLS mismatch', new Error('The server does not support SSL connections'), 'refused', /sslmode/],
    ['wrapped by TypeORM', { message: 'wrapped', driverError: pgError('3D000', 'database "x" does not exist') }, 'refused', /3D000/],
    ['port closed', socketError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1'), 'unreachable', /could not be reached/],
    ['host unknown', socketError('ENOTFOUND', 'getaddrinfo ENOTFOUND db'), 'unreachable', /could not be reached/],
    ['no answer', new Error('timeout expired'), 'unreachable', /did not answer within 1500 ms/],
    ['pool timeout', new Error('timeout exceeded when trying to connect'), 'unreachable', /did not answer within 1500 ms/],
    ['dropped at once', new Error('Connection terminated unexpectedly'), 'unreachable', /could not be reached/],
    ['server starting up', pgError('57P03', 'the database system is starting up'), 'unreachable', /DATABASE_URL/],
    ['too many connections', pgError('53300', 'sorry, too many clients already'), 'unreachable', /DATABASE_URL/],
    ['anything else', new Error('something new'), 'unknown', /something new/],
  ];
  it.each(cases)('%s', (_name, err, kind, message) => {
    const failure = classifyConnectFailure(err, 'Database app@db:6432/jc', 1500);
    expect(failure.kind).toBe(kind);
    expect(failure.message).toMatch(message);
    expect(failure.message).toMatch(/^Database app@db:6432\/jc\b/);
  });
});

it('a connection dropped once the connect timeout passed did not answer', () => {
  expect(classifyConnectFailure(new Error('Connection terminated unexpectedly'), 'Database x', 1500, 1502).message)
    .toMatch(/^Database x did not answer within 1500 ms/);
});

describe('describeDatabase', () => {
  it('names user, host, port and database, never the password or query parameters', () => {
    expect(describeDatabase('postgres://app:s3cret@db.internal:6432/jc?sslmode=require&options=x')).toBe('app@db.internal:6432/jc');
    expect(describeDatabase('postgresql://db/jc')).toBe('db:5432/jc');
    expect(describeDatabase('not a url')).toBe('the database in DATABASE_URL');
    expect(describeDatabase(undefined)).toBe('the database');
  });
});
