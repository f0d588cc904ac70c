import { describe, expect, it } from 'vitest';
import { decideAdmission, type AdmissionInput, type TenantActivity } from './fair-share.js';

/* Pool of 100 points in a 10 s window, share 50; "now" is 4 s into the window (6 s left). */
const NOW = 1_000_004_000;
const base: AdmissionInput = {
  nowMs: NOW, windowMs: 10_000, windowEndsMs: NOW + 6000, poolCap: 100, poolUsed: 0, shareCap: 50, cost: 1, mine: 0, others: [],
};
/** Another tenant that asked just now, active for the whole window, never denied. */
const other = (o: Partial<TenantActivity> = {}): TenantActivity => ({ used: 0, usedPrev: 0, lastAskMs: NOW, firstAskMs: NOW - 60_000, lastDeniedMs: 0, ...o });

describe('decideAdmission (work-conserving fair share)', () => {
  it.each<[string, Partial<AdmissionInput>, { verdict: string; reserved?: number; retryAtMs?: number }]>([
    ['a newcomer above its share against a tenant owed its projection: retry when that projection fits',
      // one call in its first second (1.25/s with the margin): owed round(1.25/s × 6 s) = 8 now; room 5 once fewer than 4.4 s are left.
      { poolUsed: 94, mine: 84, others: [other({ used: 1, usedPrev: 0, firstAskMs: NOW })], shareCap: 11 }, { verdict: 'fair_share', reserved: 8, retryAtMs: NOW + 1601 }],
    ['an idle pool: a lone tenant far past its share goes', { poolUsed: 99, mine: 99 }, { verdict: 'ok', reserved: 0 }],
    ['the pool spent: nobody goes before the window ends', { poolUsed: 100, mine: 0 }, { verdict: 'app_pool', retryAtMs: NOW + 6000 }],
    ['a call costing more than is left waits for the window', { poolUsed: 98, cost: 3 }, { verdict: 'app_pool' }],
    ['below its share a tenant goes whatever others are owed', { poolUsed: 60, mine: 49, others: [other({ lastDeniedMs: NOW })] }, { verdict: 'ok', reserved: 0 }],
    ['past its share, with a tenant idle longer than the window (contention ended)',
      { poolUsed: 70, mine: 60, others: [other({ used: 10, lastAskMs: NOW - 10_001 })] }, { verdict: 'ok', reserved: 0 }],
    ['past its share, a waiting tenant (denied within 1 s) is owed the rest of its share',
      { poolUsed: 70, mine: 60, others: [other({ used: 10, lastDeniedMs: NOW - 1000 })] }, { verdict: 'fair_share', reserved: 40, retryAtMs: NOW + 6000 }],
    ['a denial older than 1 s no longer counts as waiting: its rate is owed instead',
      // 10 calls in the last 10 s (1/s) × 1.25 × 6 s left = 7.5 → 8.
      { poolUsed: 70, mine: 60, others: [other({ used: 10, lastDeniedMs: NOW - 1001 })] }, { verdict: 'ok', reserved: 8 }],
    ['a quiet tenant is owed its projected demand: here the pool can still give the greedy one a call',
      { poolUsed: 91, mine: 81, others: [other({ used: 10 })] }, { verdict: 'ok', reserved: 8 }],
    ['... and not once that projection no longer fits; retry when it has shrunk enough',
      // at 93 used, room for 6: owed round(1.25/s × time left) ≤ 6 once fewer than 5.2 s are left.
      { poolUsed: 93, mine: 83, others: [other({ used: 10 })] }, { verdict: 'fair_share', reserved: 8, retryAtMs: NOW + 801 }],
    ['the previous window counts for the part of the last window it covers',
      // 10 + 20 × 0.6 = 22 calls in the last 10 s: 2.75 points/s × 6 s = 16.5 → 17 (16 if the float falls short).
      { poolUsed: 70, mine: 60, others: [other({ used: 10, usedPrev: 20 })] }, { verdict: 'ok', reserved: 17 }],
    ['a newcomer\'s rate is measured over the time it has been active (at least 1 s)',
      // 4 calls in 2 s × 1.25 × 6 s = 15.
      { poolUsed: 70, mine: 60, others: [other({ used: 4, firstAskMs: NOW - 2000 })] }, { verdict: 'ok', reserved: 15 }],
    ['owed at most the rest of its share', { poolUsed: 60, mine: 55, others: [other({ used: 45, usedPrev: 100 })] }, { verdict: 'ok', reserved: 5 }],
    ['a tenant at its share is owed nothing', { poolUsed: 99, mine: 49 + 1, others: [other({ used: 50, lastDeniedMs: NOW })] }, { verdict: 'ok', reserved: 0 }],
    ['several tenants: what they are owed adds up',
      { poolUsed: 60, mine: 51, others: [other({ used: 4, lastDeniedMs: NOW }), other({ used: 5 })] }, { verdict: 'fair_share', reserved: 46 + 4, retryAtMs: NOW + 6000 }],
  ])('%s', (_case, input, expected) => {
    expect(decideAdmission({ ...base, ...input })).toMatchObject(expected);
  });
});
