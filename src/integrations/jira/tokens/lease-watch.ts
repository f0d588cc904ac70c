import { leaseLive, type ObservedRow } from './refresh-lease.js';

/** Shortest and longest pause between two polls of a waited-on lease. */
export const MIN_TICK_MS = 10;
export const MAX_TICK_MS = 200;
/** Ids per polling statement. */
const BATCH = 500;

interface Waiter {
  version: number;
  /** performance.now() of the next poll this waiter wants, of its first one, and of its end. */
  dueAt: number;
  firstDueAt: number;
  deadline: number;
  registeredAt: number;
  resolve(row: ObservedRow | null): void;
  reject(err: unknown): void;
}

/**
 * Waits for refresh leases that another process holds, for every team this process waits on at
 * once, with ONE polling read per tick however many teams wait (observeMany), outside the refresh
 * concurrency limit and holding no connection between polls. The first poll is timed on the
 * lease's expected end (its start, read from its expiry, plus the token call's usual duration
 * measured here); later polls come every quarter of that duration (10 to 200 ms), slower the
 * longer the holder is overdue.
 */
export class LeaseWatch {
  private readonly waiters = new Map<string, Waiter[]>();
  private timer?: NodeJS.Timeout;
  private timerAt = Infinity;
  private polling = false;
  /** Moving average of this process's token calls (ms); a guess until the first one. */
  private expectedMs = 100;
  /** Polling reads issued (what the statement-count test and the bench look at). */
  polls = 0;

  constructor(
    private readonly observeMany: (teamIds: string[]) => Promise<ObservedRow[]>,
    private readonly leaseMs: number,
  ) {}

  /** Feeds the usual duration of a token call (exponential moving average). */
  recordTokenCallMs(ms: number): void {
    this.expectedMs = Math.round(this.expectedMs * 0.8 + ms * 0.2);
  }

  /**
   * Resolves with the row once it has moved past `seen` (a new token version: stored or wiped),
   * its lease is gone or lapsed (the caller may claim it), or at `deadline` (performance.now())
   * with the last row polled. Null when the row disappeared. A `seen` without a live lease is
   * looked at again with the next poll.
   */
  wait(seen: ObservedRow, deadline: number): Promise<ObservedRow | null> {
    const now = performance.now();
    // When the lease ends, and when its holder's call should be done, on this process's monotonic clock.
    const leaseEnd = leaseLive(seen) ? seen.observedAt + seen.leaseRemainingMs : 0;
    const expectedEnd = leaseEnd - this.leaseMs + this.expectedMs;
    const untilExpected = Math.min(expectedEnd, leaseEnd) - now;
    const dueAt = Math.min(deadline, now + Math.max(MIN_TICK_MS, untilExpected));
    return new Promise((resolve, reject) => {
      const list = this.waiters.get(seen.teamId) ?? [];
      list.push({ version: seen.version, dueAt, firstDueAt: dueAt, deadline, registeredAt: now, resolve, reject });
      this.waiters.set(seen.teamId, list);
      this.schedule();
    });
  }

  private tickMs(w: Waiter, now: number): number {
    const overdue = Math.max(0, now - w.firstDueAt);
    return Math.min(MAX_TICK_MS, Math.max(MIN_TICK_MS, this.expectedMs / 4, overdue / 2));
  }

  private schedule(): void {
    if (this.polling || this.waiters.size === 0) return;
    let next = Infinity;
    for (const list of this.waiters.values()) for (const w of list) next = Math.min(next, w.dueAt);
    if (this.timer && this.timerAt <= next) return;
    clearTimeout(this.timer);
    this.timerAt = next;
    this.timer = setTimeout(() => void this.poll(), Math.max(0, next - performance.now()));
  }

  private async poll(): Promise<void> {
    this.timer = undefined;
    this.timerAt = Infinity;
    this.polling = true;
    const started = performance.now();
    // Every waiting team rides along, due or not: one read serves them all now rather than one per
    // group later (waiters registered a few ms apart on a loaded machine would otherwise split
    // into groups polled on their own ticks). A row still leased just keeps waiting.
    const due = [...this.waiters.keys()];
    try {
      for (let i = 0; i < due.length; i += BATCH) {
        const chunk = due.slice(i, i + BATCH);
        this.polls += 1;
        let rows: ObservedRow[];
        try {
          rows = await this.observeMany(chunk);
        } catch (err) {
          for (const teamId of chunk) this.settleAll(teamId, (w) => w.reject(err));
          continue;
        }
        const byTeam = new Map(rows.map((r) => [r.teamId, r]));
        for (const teamId of chunk) this.settle(teamId, byTeam.get(teamId) ?? null, started);
      }
    } finally {
      this.polling = false;
      this.schedule();
    }
  }

  private settle(teamId: string, row: ObservedRow | null, readAt: number): void {
    const now = performance.now();
    const list = (this.waiters.get(teamId) ?? []).filter((w) => {
      // A waiter that arrived after the read was sent may know more than the read: poll again for it.
      const done = w.registeredAt <= readAt && (row === null || row.version !== w.version || !leaseLive(row) || now >= w.deadline);
      if (done) w.resolve(row);
      else if (w.dueAt <= now + MIN_TICK_MS) w.dueAt = Math.min(w.deadline, now + this.tickMs(w, now));
      return !done;
    });
    if (list.length) this.waiters.set(teamId, list);
    else this.waiters.delete(teamId);
  }

  private settleAll(teamId: string, end: (w: Waiter) => void): void {
    for (const w of this.waiters.get(teamId) ?? []) end(w);
    this.waiters.delete(teamId);
  }
}
