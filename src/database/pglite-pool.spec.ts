import { PGlite } from '@electric-sql/pglite';
import { afterAll, describe, expect, it } from 'vitest';
import { pglitePoolFor } from './pglite-pool.js';

type Connect = (cb: (err: Error | null, client: unknown, release: () => void) => void) => void;
const connect = (pool: { connect: Connect }) =>
  new Promise<{ err: Error | null; release: () => void }>((resolve) => pool.connect((err, _c, release) => resolve({ err, release })));

describe('PGlite pool (one session)', () => {
  const db = new PGlite('memory://');
  afterAll(() => db.close());

  it('a caller queued for the session gives up after connectionTimeoutMillis and never gets it later', async () => {
    const { Pool } = pglitePoolFor(db);
    const pool = new Pool({ connectionTimeoutMillis: 100 }) as unknown as { connect: Connect };
    const holder = await connect(pool);
    expect(holder.err).toBeNull();
    const started = performance.now();
    const waiter = await connect(pool);
    expect(waiter.err?.message).toBe('timeout exceeded when trying to connect');
    expect(performance.now() - started).toBeGreaterThanOrEqual(90);

    // Queued behind the holder, within the bound: served in order once it is released.
    const next = connect(pool);
    holder.release();
    const served = await next;
    expect(served.err).toBeNull();
    // The caller that timed out did not take the session: it is free again after one release.
    served.release();
    const again = await connect(pool);
    expect(again.err).toBeNull();
    again.release();
  });
});
