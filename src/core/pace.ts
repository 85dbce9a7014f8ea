/**
 * Reservations against a rate of R messages a second: each reservation of n messages starts when those before it
 * have had their share of time (n / R seconds each), and what a reservation did not use is given back. Pure and
 * clock-free, so the workflow (on workflow time) and the worker (on the wall clock) pace the same way.
 */
export class Pace {
  private nextAt = 0;

  constructor(private readonly perSecond: number) {}

  /** When (ms, on the caller's clock) `messages` may start, `now` being the caller's time. */
  reserve(messages: number, now: number): number {
    const startAt = Math.max(this.nextAt, now);
    this.nextAt = startAt + (messages * 1000) / this.perSecond;
    return startAt;
  }

  refund(messages: number): void {
    if (messages > 0) this.nextAt -= (messages * 1000) / this.perSecond;
  }
}
