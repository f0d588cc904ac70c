import { Injectable } from '@nestjs/common';

/** Time as an injectable, so expiry logic is tested without sleeping. */
@Injectable()
export class Clock {
  now(): Date {
    return new Date();
  }

  nowMs(): number {
    return this.now().getTime();
  }
}
