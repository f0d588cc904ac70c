import type { DataSource, QueryRunner } from 'typeorm';

export interface StatementCounter {
  /** Statements by kind (the first three words of the SQL). */
  byKind: Map<string, number>;
  total(): number;
  reset(): void;
}

/**
 * Counts every statement a DataSource sends from now on (transaction control included), by
 * wrapping the query runners its driver hands out: a measure of the token path's structure that
 * the machine's load cannot distort (test/token-refresh-statements.e2e-spec.ts, bench/storm.ts).
 */
export function countStatements(dataSource: DataSource): StatementCounter {
  const byKind = new Map<string, number>();
  const driver = dataSource.driver as { createQueryRunner(mode?: string): QueryRunner };
  const create = driver.createQueryRunner.bind(driver);
  driver.createQueryRunner = (mode?: string) => {
    const runner = create(mode);
    const query = runner.query.bind(runner) as (...args: unknown[]) => Promise<unknown>;
    (runner as { query: unknown }).query = (sql: string, ...rest: unknown[]) => {
      const kind = sql.trim().replace(/\s+/g, ' ').split(' ').slice(0, 3).join(' ');
      byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
      return query(sql, ...rest);
    };
    return runner;
  };
  return {
    byKind,
    total: () => [...byKind.values()].reduce((a, b) => a + b, 0),
    reset: () => byKind.clear(),
  };
}
