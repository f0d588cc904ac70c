/*
 * Whether one call may take a point of the app's pool now: the governor's work-conserving fair
 * share, as a pure function. The in-memory state store calls it; the Redis store's ADMIT script
 * (rate-limit-state.ts) computes the same rule in Lua, and the two are checked against each other.
 *
 * The rule, per quota window:
 * - the pool is never over-spent (`app_pool` until the window ends);
 * - a tenant below its share (`JIRA_TENANT_MAX_SHARE` of the pool) always goes;
 * - above its share, it goes only if the pool still holds, after this call, what the other
 *   contending tenants are expected to ask for before the window ends (`fair_share` otherwise).
 *   A tenant contends while it asked within `contentionMs(window)` (the window, at most a minute).
 *   One with calls waiting (denied within WAITING_MS) is owed the rest of its share; any other is
 *   owed its recent rate (calls in the last window ÷ time it has been active), with a margin,
 *   times the time left (rounded), never more than the rest of its share. Nobody else
 *   asking means nothing is reserved: an idle pool is one tenant's to use (its own Atlassian
 *   quota still applies, from the headers).
 */

/** One other tenant as the pool sees it. */
export interface TenantActivity {
  /** Points admitted in the current window. */
  used: number;
  /** Points admitted in the previous window. */
  usedPrev: number;
  lastAskMs: number;
  /** When its current run of activity began (its first ask after being idle for `contentionMs`). */
  firstAskMs: number;
  /** When one of its calls was last denied (0: never). */
  lastDeniedMs: number;
}

export interface AdmissionInput {
  nowMs: number;
  windowMs: number;
  windowEndsMs: number;
  poolCap: number;
  poolUsed: number;
  /** The most one tenant may take while others contend: floor(pool × JIRA_TENANT_MAX_SHARE). */
  shareCap: number;
  /** Points this call costs. */
  cost: number;
  /** Points the asking tenant already has this window. */
  mine: number;
  others: TenantActivity[];
}

export interface AdmissionDecision {
  verdict: 'ok' | 'app_pool' | 'fair_share';
  /** Points held back for the other tenants (0 unless the asker is above its share). */
  reserved: number;
  /** Denied: the earliest time the call could be admitted if the others ask as expected. */
  retryAtMs: number;
}

/** A tenant denied this recently still has calls waiting (waiters re-ask at least every 250 ms). */
export const WAITING_MS = 1000;
/** Expected demand is over-estimated by this factor, so a quiet tenant is not squeezed by noise. */
export const DEMAND_MARGIN = 1.25;
/** A rate is never measured over less than this (one call in 1 ms is not 1,000 calls a second). */
export const MIN_RATE_SPAN_MS = 1000;

/** How recently a tenant must have asked to count as contending: the window, at most a minute. */
export const contentionMs = (windowMs: number): number => Math.min(windowMs, 60_000);

/** What one other tenant is owed at time `t` until the window ends: the rest of its share, or its projected demand (at most that). */
export function owedTo(o: TenantActivity, input: Pick<AdmissionInput, 'nowMs' | 'windowMs' | 'windowEndsMs' | 'shareCap'>): (t: number) => number {
  const { nowMs, windowMs, windowEndsMs, shareCap } = input;
  if (nowMs - o.lastAskMs > contentionMs(windowMs)) return () => 0;
  const left = Math.max(0, shareCap - o.used);
  if (left === 0 || nowMs - o.lastDeniedMs <= WAITING_MS) return () => left;
  const elapsedFraction = Math.min(1, Math.max(0, 1 - (windowEndsMs - nowMs) / windowMs));
  // Calls in the last window (sliding estimate), over the time it has been active in it.
  const recent = o.used + o.usedPrev * (1 - elapsedFraction);
  const perMs = (recent / Math.min(windowMs, Math.max(MIN_RATE_SPAN_MS, nowMs - o.firstAskMs))) * DEMAND_MARGIN;
  // Rounded: near the window's end, a call it is unlikely to make is not held back.
  return (t) => Math.min(left, Math.floor(perMs * Math.max(0, windowEndsMs - t) + 0.5));
}

export function decideAdmission(input: AdmissionInput): AdmissionDecision {
  const { nowMs, windowEndsMs, poolCap, poolUsed, shareCap, cost, mine } = input;
  if (poolUsed + cost > poolCap) return { verdict: 'app_pool', reserved: 0, retryAtMs: windowEndsMs };
  if (mine + cost <= shareCap) return { verdict: 'ok', reserved: 0, retryAtMs: nowMs };
  const owed = input.others.map((o) => owedTo(o, input));
  const owedAt = (t: number) => owed.reduce((sum, f) => sum + f(t), 0);
  const room = poolCap - poolUsed - cost;
  const reserved = owedAt(nowMs);
  if (reserved <= room) return { verdict: 'ok', reserved, retryAtMs: nowMs };
  // What the others are owed shrinks as the window runs out: the first millisecond it fits (at the
  // latest the next window, where this tenant is below its share again).
  if (owedAt(windowEndsMs) > room) return { verdict: 'fair_share', reserved, retryAtMs: windowEndsMs };
  let [lo, hi] = [nowMs, windowEndsMs];
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (owedAt(mid) <= room) hi = mid;
    else lo = mid;
  }
  return { verdict: 'fair_share', reserved, retryAtMs: hi };
}
