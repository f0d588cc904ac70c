import { describe, expect, it } from 'vitest';
import { LeaseWatch } from './lease-watch.js';
import { ReadBatch } from './read-batch.js';
import type { ObservedRow } from './refresh-lease.js';

const LEASE_MS = 12_000;
/** A row as read now, with `leaseRemainingMs` of lease left on the database's clock (null: none). */
const row = (teamId: string, version: number, leaseRemainingMs: number | null): ObservedRow => ({
  teamId, status: 'connected', cloudId: 'c', accessTokenEnvelope: 'x', expiresAt: new Date(), version, leaseRemainingMs,
  observedAt: performance.now(),
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A table the "other process" changes; observeMany counts its statements. */
function table(teams: number) {
  const rows = new Map<string, ObservedRow>();
  const claimedAt = performance.now();
  for (let i = 0; i < teams; i++) rows.set(`t${i}`, row(`t${i}`, 1, LEASE_MS));
  const reads: string[][] = [];
  // Every read sees the lease as far gone as it is by then (unless the test changed the row).
  const observeMany = async (ids: string[]) => {
    reads.push(ids);
    return ids.map((id) => rows.get(id)!).filter(Boolean).map((r) => (r.leaseRemainingMs === LEASE_MS && r.version === 1
      ? { ...r, leaseRemainingMs: LEASE_MS - (performance.now() - claimedAt), observedAt: performance.now() } : r));
  };
  return { rows, reads, observeMany };
}
describe('LeaseWatch', () => {
  it('300 teams waiting on leases share their polls: one read per tick for all of them, not one per team', async () => {
    const t = table(300);
    // The holder stores between the second and third shared poll: counted in polls, not in time,
    // so a loaded machine (timers firing late) cannot change the figure.
    const observe = t.observeMany;
    t.observeMany = async (ids) => {
      if (t.reads.length === 2) for (const [id] of t.rows) t.rows.set(id, row(id, 2, null));
      return observe(ids);
    };
    const watch = new LeaseWatch((ids) => t.observeMany(ids), LEASE_MS);
    const waits = [...t.rows.values()].map((r) => watch.wait(r, performance.now() + 10_000));
    const seen = await Promise.all(waits);
    expect(seen.every((r) => r?.version === 2)).toBe(true);
    // Each read covers every waiting team (up to 500 per statement), and there were exactly three.
    expect(t.reads.every((ids) => ids.length === 300)).toBe(true);
    expect(t.reads).toHaveLength(3);
    expect(watch.polls).toBe(3);
  });

  it('times its first poll on the lease\'s expected end, not at once', async () => {
    const t = table(1);
    const watch = new LeaseWatch(t.observeMany, LEASE_MS);
    watch.recordTokenCallMs(300); // usual token call: 0.8 × 100 + 0.2 × 300 = 140 ms
    const done = watch.wait(t.rows.get('t0')!, performance.now() + 10_000);
    await sleep(60);
    expect(t.reads).toHaveLength(0); // timers fire late under load, never early
    t.rows.set('t0', row('t0', 2, null));
    expect((await done)?.version).toBe(2);
    expect(t.reads.length).toBeGreaterThanOrEqual(1);
  });

  it('hands a lapsed lease back to the caller (to claim), and gives up at the deadline', async () => {
    const t = table(2);
    const watch = new LeaseWatch(t.observeMany, LEASE_MS);
    const lapsing = watch.wait(t.rows.get('t0')!, performance.now() + 10_000);
    const stuck = watch.wait(t.rows.get('t1')!, performance.now() + 300);
    t.rows.set('t0', row('t0', 1, null)); // lapsed
    expect(await lapsing).toMatchObject({ version: 1 });
    const started = performance.now();
    expect(await stuck).toMatchObject({ version: 1, leaseRemainingMs: expect.any(Number) });
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});

describe('ReadBatch', () => {
  it('reads of many teams asked for in one turn go out as one statement; a lone read stays a single-row read', async () => {
    const t = table(700);
    const single: string[] = [];
    const batch = new ReadBatch(async (id) => (single.push(id), t.rows.get(id) ?? null), t.observeMany);
    const ids = [...t.rows.keys()];
    const got = await Promise.all([...ids, ...ids, 'missing'].map((id) => batch.read(id)));
    expect(got.slice(0, 1400).map((r) => r?.teamId)).toEqual([...ids, ...ids]);
    expect(got[1400]).toBeNull();
    expect(t.reads.map((r) => r.length)).toEqual([500, 201]);
    expect(single).toEqual([]);
    expect((await batch.read('t3'))?.teamId).toBe('t3');
    expect(single).toEqual(['t3']);
  });
});
