/**
 * First come, first served per key (a tenant) in this process: the calls of one tenant waiting
 * for the pool take their turns in arrival order, and only the one at the head asks the state
 * store (one poller per tenant and instance, not one per waiting call). Every wait is bounded by
 * the caller's deadline.
 */
export class WaitLine {
  private readonly tails = new Map<string, { done: Promise<void>; retryAtMs: number }>();

  /** Whether calls of `key` are waiting (a new call then queues behind them instead of asking first). */
  busy(key: string): boolean {
    return this.tails.has(key);
  }

  /** When the head of `key`'s line expects to be let through (0 when nobody waits). */
  expectedAt(key: string): number {
    return this.tails.get(key)?.retryAtMs ?? 0;
  }

  /** The head's latest estimate, so later arrivals whose deadline falls before it are refused at once. */
  expect(key: string, retryAtMs: number): void {
    const tail = this.tails.get(key);
    if (tail) tail.retryAtMs = retryAtMs;
  }

  /**
   * Runs `turn` once every earlier call of `key` has had its turn; `timedOut` (which throws) if
   * `deadlineMs` comes first. A caller that gives up still holds its place until the one before it
   * is done, so nobody behind it jumps the line.
   */
  async run<T>(key: string, deadlineMs: number, nowMs: () => number, turn: () => Promise<T>, timedOut: () => never): Promise<T> {
    const before = this.tails.get(key);
    let leave!: () => void;
    const done = new Promise<void>((resolve) => (leave = resolve));
    const entry = { done, retryAtMs: before?.retryAtMs ?? 0 };
    this.tails.set(key, entry);
    try {
      if (before) {
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), Math.max(0, deadlineMs - nowMs()))));
        const outcome = await Promise.race([before.done.then(() => 'turn' as const), late]);
        clearTimeout(timer);
        if (outcome === 'late') timedOut();
      }
      return await turn();
    } finally {
      void (before?.done ?? Promise.resolve()).then(() => {
        if (this.tails.get(key) === entry) this.tails.delete(key);
        leave();
      });
    }
  }
}
