import pg from 'pg';
import type { DatabaseSettings } from '../config/database.config.js';

export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
export const DEFAULT_STATEMENT_TIMEOUT_MS = 10_000;
/** The client gives a statement up this long after the server's statement_timeout would have. */
export const CLIENT_STATEMENT_GRACE_MS = 1000;

/** node-postgres' own message when a query outlives `query_timeout`. */
const QUERY_READ_TIMEOUT = 'Query read timeout';

/**
 * A node-postgres client that drops its connection when a query outlived `query_timeout`.
 * node-postgres only stops waiting: the connection stays busy with the unanswered statement and
 * goes back to the pool, where, once a frozen server wakes up, it could still be inside a
 * transaction whose ROLLBACK was never sent. Destroying it makes the pool discard it instead.
 */
export class BoundedClient extends pg.Client {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- pg's query() has a dozen overloads
  override query(...args: any[]): any {
    const result = (super.query as (...a: unknown[]) => unknown)(...args);
    if (result instanceof Promise) {
      result.catch((err: unknown) => {
        if ((err as Error)?.message === QUERY_READ_TIMEOUT) {
          (this as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
        }
      });
    }
    return result;
  }
}

/**
 * node-postgres pool options bounding every wait: acquiring or opening a connection
 * (`connectionTimeoutMillis`), a statement on the server (`statement_timeout`, SQLSTATE 57014) and
 * on the client (`query_timeout`), which also covers a server that no longer answers at all.
 */
export function boundedPoolOptions(settings: Pick<DatabaseSettings, 'connectTimeoutMs' | 'statementTimeoutMs'>): Record<string, unknown> {
  const statementTimeoutMs = settings.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  return {
    Client: BoundedClient,
    connectionTimeoutMillis: settings.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    statement_timeout: statementTimeoutMs,
    query_timeout: statementTimeoutMs + CLIENT_STATEMENT_GRACE_MS,
    keepAlive: true,
  };
}
