import { EventEmitter } from 'node:events';
import type { PGlite } from '@electric-sql/pglite';

type Release = (err?: unknown) => void;
type ConnectCallback = (err: Error | null, client: PGliteClient | null, release: Release) => void;

interface PgResult {
  command: string;
  rows: unknown[];
  rowCount: number;
  fields: { name: string; dataTypeID: number }[];
}

/** The first SQL keyword, which TypeORM reads as `command` to report affected rows. */
function commandOf(sql: string): string {
  const match = /^\s*(?:--[^\n]*\n\s*|\/\*[\s\S]*?\*\/\s*)*(\w+)/.exec(sql);
  return match ? match[1].toUpperCase() : '';
}

/** A node-postgres-shaped client over the one PGlite session. */
class PGliteClient extends EventEmitter {
  constructor(private readonly db: PGlite) {
    super();
  }

  async query(sql: string, params?: unknown[] | ((...a: unknown[]) => void)): Promise<PgResult> {
    const values = Array.isArray(params) ? params : undefined;
    if (values && values.length > 0) {
      const r = await this.db.query(sql, values);
      return {
        command: commandOf(sql),
        rows: r.rows,
        rowCount: r.affectedRows ?? r.rows.length,
        fields: r.fields,
      };
    }
    // exec runs several statements (migrations); TypeORM wants the last result.
    const results = await this.db.exec(sql);
    const last = results[results.length - 1];
    return {
      command: commandOf(sql),
      rows: last?.rows ?? [],
      rowCount: last?.affectedRows ?? last?.rows.length ?? 0,
      fields: last?.fields ?? [],
    };
  }

  release(): void {
    /* released through the callback handed out by the pool */
  }
}

/**
 * PGlite is one Postgres backend, i.e. one session. Handing it to several TypeORM query runners
 * at once would interleave their transactions (BEGIN from one, UPDATE from another). This pool
 * therefore behaves like a node-postgres pool of size 1: a runner holds the session from connect
 * to release and others queue. It also reports `command`/`rowCount` as node-postgres does, which
 * TypeORM needs for `UpdateResult.affected`.
 *
 * Consequence for callers: inside a transaction use only that transaction's manager, never a
 * second connection (on a real pool that is merely wasteful; here it would wait forever).
 */
export function pglitePoolFor(db: PGlite): { Pool: new (options?: { connectionTimeoutMillis?: number }) => EventEmitter } {
  const client = new PGliteClient(db);
  const waiters: (() => void)[] = [];
  let busy = false;

  /** Resolves true once the session is ours, false if `timeoutMs` passed first (0: no bound). */
  const acquire = (timeoutMs: number): Promise<boolean> =>
    new Promise((resolve) => {
      if (!busy) {
        busy = true;
        resolve(true);
        return;
      }
      const waiter = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = timeoutMs > 0
        ? setTimeout(() => {
          // Leave the queue, so the session is never handed to a caller that gave up.
          waiters.splice(waiters.indexOf(waiter), 1);
          resolve(false);
        }, timeoutMs)
        : undefined;
      waiters.push(waiter);
    });
  const releaseSession = (): void => {
    const next = waiters.shift();
    if (next) next();
    else busy = false;
  };

  class PGlitePool extends EventEmitter {
    private ended = false;
    private readonly acquireTimeoutMs: number;

    /** TypeORM passes node-postgres pool options; `connectionTimeoutMillis` bounds the wait for the session. */
    constructor(options: { connectionTimeoutMillis?: number } = {}) {
      super();
      this.acquireTimeoutMs = options.connectionTimeoutMillis ?? 0;
    }

    connect(callback: ConnectCallback): void {
      if (this.ended) {
        callback(new Error('PGlite pool has been closed'), null, () => undefined);
        return;
      }
      void acquire(this.acquireTimeoutMs).then((acquired) => {
        if (!acquired) {
          // node-postgres' message for the same situation, so both engines are classified alike.
          callback(new Error('timeout exceeded when trying to connect'), null, () => undefined);
          return;
        }
        let released = false;
        const release: Release = () => {
          if (released) return;
          released = true;
          releaseSession();
        };
        callback(null, client, release);
      });
    }

    end(callback?: (err?: Error | null) => void): void {
      this.ended = true;
      callback?.(null);
    }
  }

  return { Pool: PGlitePool };
}
