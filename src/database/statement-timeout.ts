/*
 * The server-side statement timeout, carried by every transaction instead of by the session.
 *
 * A transaction pooler (PgBouncer in transaction mode, RDS Proxy, the Supabase and Neon poolers)
 * hands each transaction a server connection of its own choosing, so neither a startup parameter
 * (PgBouncer refuses `statement_timeout` there) nor a session-level SET reaches the statement.
 * `SET LOCAL` does: it lives exactly as long as the transaction that carries it. So each transaction
 * starts with it, and a statement sent outside one is run inside one.
 */

/** ReadyForQuery status of the connection: idle, in a transaction, in a failed transaction. */
export type TransactionStatus = 'I' | 'T' | 'E' | null;

/**
 * - `as-is`: send the statement unchanged (already inside a transaction, or one that cannot run in one).
 * - `begin-with-timeout`: the statement opens a transaction: append the `SET LOCAL` to it.
 * - `wrap`: a lone statement: run it as `BEGIN; SET LOCAL …` / statement / `COMMIT`.
 */
export type StatementPlan = 'as-is' | 'begin-with-timeout' | 'wrap';

const FIRST_WORDS = /^\s*(?:(?:--[^\n]*\n|\/\*[\s\S]*?\*\/)\s*)*([A-Za-z]+)(?:\s+([A-Za-z]+))?(?:\s+([A-Za-z]+))?/;
/** Statements PostgreSQL refuses inside a transaction block; they keep the client-side bound only. */
const NO_TRANSACTION_BLOCK = /^\s*(?:(?:CREATE|DROP)\s+(?:DATABASE|TABLESPACE|SUBSCRIPTION)|VACUUM|ALTER\s+SYSTEM|CHECKPOINT|(?:CREATE|DROP)\s+INDEX\s+CONCURRENTLY|REINDEX\b[^;]*\bCONCURRENTLY|DISCARD\s+ALL|ALTER\s+TYPE\b[^;]*\bADD\s+VALUE)\b/i;

export function planStatement(sql: string, status: TransactionStatus): StatementPlan {
  if (status !== 'I') return 'as-is'; // inside a transaction (its SET LOCAL holds), or unknown
  const words = FIRST_WORDS.exec(sql);
  if (!words) return 'as-is';
  const [first, second] = [words[1].toUpperCase(), (words[2] ?? '').toUpperCase()];
  if (first === 'BEGIN' || (first === 'START' && second === 'TRANSACTION')) {
    // A multi-statement string would make `BEGIN; …` ambiguous; TypeORM sends the bare statement.
    return sql.includes(';') ? 'as-is' : 'begin-with-timeout';
  }
  // Transaction control outside a transaction only draws a warning; wrapping it would change that.
  if (['COMMIT', 'END', 'ROLLBACK', 'ABORT', 'SAVEPOINT', 'RELEASE', 'PREPARE'].includes(first)) return 'as-is';
  if (NO_TRANSACTION_BLOCK.test(sql)) return 'as-is';
  return 'wrap';
}

/** `SET LOCAL` takes no parameters; the value is a validated integer, so it is safe to inline. */
export function setLocalStatementTimeout(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new RangeError(`statement timeout must be a non-negative integer, got ${ms}`);
  return `SET LOCAL statement_timeout = ${ms}`;
}
