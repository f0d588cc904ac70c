/** Thrown by ConcurrencyLimit.acquire when no slot came free before the caller's deadline. */
export class SlotWaitTimeout extends Error {
  constructor() {
    super('No refresh slot came free before the caller\'s deadline');
    this.name = 'SlotWaitTimeout';
  }
}

interface Waiter {
  grant(): void;
  timer: NodeJS.Timeout;
}

/**
 * At most `limit` holders at once; the rest wait in arrival order (a counting semaphore), each
 * no longer than its own deadline. A slot is held for one call to Atlassian, never across a sleep.
 */
export class ConcurrencyLimit {
  private active = 0;
  private readonly waiting: Waiter[] = [];

  constructor(private readonly limit: number) {}

  /**
   * A slot, or SlotWaitTimeout at `deadline` (performance.now()). Resolves with the slot's release
   * (idempotent).
   */
  async acquire(deadline: number): Promise<() => void> {
    if (this.active < this.limit) {
      this.active += 1;
      return this.releaser();
    }
    const left = deadline - performance.now();
    if (left <= 0) throw new SlotWaitTimeout();
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        grant: () => {
          clearTimeout(waiter.timer);
          resolve();
        },
        timer: setTimeout(() => {
          this.waiting.splice(this.waiting.indexOf(waiter), 1);
          reject(new SlotWaitTimeout());
        }, left),
      };
      this.waiting.push(waiter);
    });
    return this.releaser();
  }

  private releaser(): () => void {
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      const next = this.waiting.shift();
      // Hand the slot straight to the next waiter, so `active` never dips and lets a newcomer jump the queue.
      if (next) next.grant();
      else this.active -= 1;
    };
  }
}
