// The in-memory cluster's time: a clock that moves only when a test advances it.

export class ManualClock {
  constructor(private current: number = 0) {}

  now(): number {
    return this.current;
  }

  /** Moves time forward; the cluster checks session and transaction timeouts after each move. */
  advance(ms: number): number {
    if (!(ms >= 0)) throw new RangeError(`cannot move the clock by ${ms} ms`);
    this.current += ms;
    return this.current;
  }
}
