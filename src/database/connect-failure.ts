/*
 * Why the app could not open its first database connection, and what the operator should do.
 * A refusal (credentials, database name, a startup parameter a pooler does not accept, a
 * privilege, TLS) will not change by waiting, so start-up stops at once with one plain message;
 * only a database that does not answer yet (still starting, network) is worth retrying.
 */

/** `unknown`: neither; retried as before, with the driver's own message. */
export type ConnectFailureKind = 'refused' | 'unreachable' | 'unknown';

export interface ConnectFailure {
  kind: ConnectFailureKind;
  /** One sentence for the operator: what happened and what to do. */
  message: string;
}

interface ErrorLike {
  message?: unknown;
  code?: unknown;
  cause?: unknown;
  driverError?: unknown;
}

/** `user@host:port/database` of a PostgreSQL URL, never its password or query parameters. */
export function describeDatabase(url: string | undefined): string {
  if (!url) return 'the database';
  try {
    const u = new URL(url);
    const user = u.username ? `${decodeURIComponent(u.username)}@` : '';
    return `${user}${u.hostname}:${u.port || '5432'}/${decodeURIComponent(u.pathname.slice(1)) || '(default database)'}`;
  } catch {
    return 'the database in DATABASE_URL';
  }
}

function innermost(thrown: unknown): ErrorLike {
  let e = (thrown ?? {}) as ErrorLike;
  for (let i = 0; i < 4 && typeof e.code !== 'string'; i++) {
    const next = (e.driverError ?? e.cause) as ErrorLike | undefined;
    if (!next || typeof next !== 'object') break;
    e = next;
  }
  return e;
}

const SOCKET_UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH',
  'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ECONNABORTED']);

/**
 * Classifies the error of a first connection to `target` (see describeDatabase) that failed after
 * `elapsedMs`: a connection dropped only once the connect timeout had passed is one that did not answer.
 */
export function classifyConnectFailure(thrown: unknown, target: string, connectTimeoutMs: number, elapsedMs = 0): ConnectFailure {
  const e = innermost(thrown);
  const code = typeof e.code === 'string' ? e.code : '';
  const detail = typeof e.message === 'string' ? e.message : String(thrown);
  const said = `${target} refused the connection (${code ? `${code} ` : ''}${detail})`;
  const refused = (advice: string): ConnectFailure => ({ kind: 'refused', message: `${said}. ${advice}` });

  // PgBouncer reports a failed login as 08P01, so its message counts too.
  if (code.startsWith('28') || /authentication failed|no such user/i.test(detail)) {
    return refused('Check the user and password in DATABASE_URL; behind a pooler the user must also be known to it '
      + '(PgBouncer: auth_file or auth_query; RDS Proxy: its Secrets Manager secret).');
  }
  if (code === '3D000') {
    return refused('Create that database (and run `npm run migration:run` against PostgreSQL directly), or fix the database name in DATABASE_URL.');
  }
  if (code === '42501') return refused('Grant the user CONNECT on that database, or use a user that has it.');
  if (/unsupported startup parameter/i.test(detail)) {
    return refused('A transaction pooler accepts only a few startup parameters; jira-connect sends none of its own, '
      + 'so remove the parameter from DATABASE_URL (e.g. options=…) and set it per role instead (ALTER ROLE … SET).');
  }
  if (code === '08P01' || code === '08004') {
    return refused('The server or pooler does not accept this user or database: check both in DATABASE_URL and, behind a pooler, its [databases] and user list.');
  }
  if (/SSL|TLS|certificate/i.test(detail) && !SOCKET_UNREACHABLE.has(code)) {
    return refused('Fix the TLS settings in DATABASE_URL (sslmode=…) to match what the server offers.');
  }
  const timedOut = /timeout|ETIMEDOUT/i.test(`${code} ${detail}`) || (/Connection terminated/i.test(detail) && elapsedMs >= connectTimeoutMs);
  if (timedOut || SOCKET_UNREACHABLE.has(code) || /Connection terminated/i.test(detail) || /^(57P03|53300)$/.test(code)) {
    const what = timedOut ? `did not answer within ${connectTimeoutMs} ms` : 'could not be reached';
    return {
      kind: 'unreachable',
      message: `${target} ${what} (${code ? `${code} ` : ''}${detail}). `
        + 'Check the host and port in DATABASE_URL and that PostgreSQL (or its pooler) is running; '
        + 'DATABASE_CONNECT_TIMEOUT_MS bounds each attempt.',
    };
  }
  return { kind: 'unknown', message: `${target}: ${detail}` };
}

/** A first connection the database refused: start-up stops at once, with this message. */
export class DatabaseRefusedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DatabaseRefusedError';
  }
}
