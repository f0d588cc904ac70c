import { Clock } from '../../src/integrations/jira/common/clock.js';

/** The injected clock for tests: real time plus an offset the test moves (`b.overrideProvider(Clock).useValue(clock)`). */
export class ShiftedClock extends Clock {
  offsetMs = 0;

  override now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }

  /** Pins "now" to `at` (it keeps ticking from there). */
  setNow(at: number): void {
    this.offsetMs = at - Date.now();
  }
}
