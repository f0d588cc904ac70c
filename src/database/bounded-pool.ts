import type { Socket } from 'node:net';
import pg from 'pg';
import type { DatabaseSettings } from '../config/database.config.js';
import { planStatement, setLocalStatementTimeout, type TransactionStatus } from './statement-timeout.js';

export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
export const DEFAULT_STATEMENT_TIMEOUT_MS = 10_000;
/** The client gives a statement up this long after the server's statement_timeout would have. */
export const CLIENT_STATEMENT_GRACE_MS = 1000;

/** node-postgres' own message when a query outlives `query_timeout`. */
const QUERY_READ_TIMEOUT = 'Query read timeout';

/** Our option on top of node-postgres' (pg-pool hands the pool's options to every client). */
interface BoundedClientConfig extends pg.ClientConfig {
  serverStatementTimeoutMs?: number;
}

type Settled = { ok: true; value: unknown } | { ok: false; error: unknown };
const settle = (p: Promise<unknown>): Promise<Settled> =>
  p.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }));

/**
 * A node-postgres client whose statements are bounded on the server and on the client.
 *
 * Server: every transaction carries `SET LOCAL statement_timeout` (sent in the same message as its
 * START TRANSACTION), and a statement sent outside a transaction is run inside one
 * (`BEGIN; SET LOCAL …`, the statement, `COMMIT`, pipelined: one network round trip, as before).
 * Unlike a startup parameter or a session SET, this holds through a transaction pooler
 * (src/database/statement-timeout.ts).
 *
 * Client: node-postgres only stops waiting when a query outlives `query_timeout`; the connection
 * stays busy with the unanswered statement and goes back to the pool, where, once a frozen server
 * wakes up, it could still be inside a transaction whose ROLLBACK was never sent. Destroying it
 * makes the pool discard it instead.
 */
export class BoundedClient extends pg.Client {
  private readonly setLocalTimeout?: string;
  private corked = false;

  constructor(config: BoundedClientConfig = {}) {
    // Pipelined, so the statements of a wrapped one go out together instead of one round trip each.
    super({ ...config, pipeline: true });
    if (config.serverStatementTimeoutMs !== undefined) this.setLocalTimeout = setLocalStatementTimeout(config.serverStatementTimeoutMs);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- pg's query() has a dozen overloads
  override query(...args: any[]): any {
    const [config, values, callback] = args as [unknown, unknown, unknown];
    const text = typeof config === 'string' ? config : undefined;
    // SQL text only (what TypeORM and pg-pool send); submittables (cursors, streams) pass through.
    if (!this.setLocalTimeout || text === undefined) return this.send(...args);
    const done = [values, callback].find((f): f is (err: unknown, res?: unknown) => void => typeof f === 'function');
    if (done) {
      // Callback form (pg-pool's pool.query): the same path, answered through the callback.
      (this.bounded(text, Array.isArray(values) ? values : undefined) as Promise<unknown>).then((res) => done(null, res), (err: unknown) => done(err));
      return undefined;
    }
    return this.bounded(text, values);
  }

  private bounded(text: string, values: unknown): unknown {
    // null until the first ReadyForQuery is recorded (pg calls back `connect` just before): a new session is idle.
    const plan = planStatement(text, (this.getTransactionStatus() ?? 'I') as TransactionStatus);
    if (plan === 'begin-with-timeout') {
      // A multi-statement message answers with one result per statement; the caller asked for the first.
      return (this.send(`${text}; ${this.setLocalTimeout}`) as Promise<unknown>)
        .then((results) => (Array.isArray(results) ? results[0] : results));
    }
    const args = values === undefined ? [text] : [text, values];
    return plan === 'wrap' ? this.wrapInTransaction(args) : this.send(...args);
  }

  /** The statement in a transaction of its own: COMMIT turns into ROLLBACK if the statement failed. */
  private async wrapInTransaction(args: unknown[]): Promise<unknown> {
    const sent = [
      this.send(`BEGIN; ${this.setLocalTimeout}`) as Promise<unknown>,
      this.send(...args) as Promise<unknown>,
      this.send('COMMIT') as Promise<unknown>,
    ].map(settle);
    const [begin, statement, commit] = await Promise.all(sent);
    // The first failure is the cause (a deferred constraint, for one, fails only at COMMIT).
    for (const step of [begin, statement, commit]) if (!step.ok) throw step.error;
    return (statement as { value: unknown }).value;
  }

  /**
   * Every message written in this tick leaves in one socket write. node-postgres writes each
   * protocol message as it serialises it (a parameterised statement is Parse, Bind, Describe,
   * Execute, Sync; a wrapped one adds BEGIN/SET LOCAL and COMMIT), and with TCP_NODELAY each
   * write was its own syscall and, on a quiet socket, its own packet: 7 writes for one statement.
   */
  private corkUntilNextTick(): void {
    const stream = (this as unknown as { connection?: { stream?: Socket } }).connection?.stream;
    if (this.corked || !stream || typeof stream.cork !== 'function') return;
    stream.cork();
    this.corked = true;
    process.nextTick(() => {
      this.corked = false;
      stream.uncork();
    });
  }

  private send(...args: unknown[]): unknown {
    this.corkUntilNextTick();
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
 * (`connectionTimeoutMillis`), a statement on the server (`SET LOCAL statement_timeout` in every
 * transaction, SQLSTATE 57014) and on the client (`query_timeout`), which also covers a server that
 * no longer answers at all. No startup parameter beyond user, database and encoding: a transaction
 * pooler refuses the others (PgBouncer: `unsupported startup parameter`).
 */
export function boundedPoolOptions(settings: Pick<DatabaseSettings, 'connectTimeoutMs' | 'statementTimeoutMs'>): Record<string, unknown> {
  const statementTimeoutMs = settings.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  return {
    Client: BoundedClient,
    connectionTimeoutMillis: settings.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    serverStatementTimeoutMs: statementTimeoutMs,
    query_timeout: statementTimeoutMs + CLIENT_STATEMENT_GRACE_MS,
    keepAlive: true,
  };
}
