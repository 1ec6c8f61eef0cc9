// Sliding windows: one window per distinct set of records that lie within a time difference of each other.
import { checkMs } from './time-windows.js';

/**
 * Windows `[start, start + timeDifferenceMs]` (both ends inclusive) as Kafka Streams defines them: each record
 * creates the window that ends at its timestamp and, when later records of its key follow within the difference, the
 * window that starts just after it; every window containing a record's timestamp is updated. Records whose windows all
 * closed (end plus grace below stream time) are dropped (`droppedRecords.late`).
 */
export class SlidingWindows {
  private constructor(
    readonly timeDifferenceMs: number,
    readonly graceMs: number,
  ) {}

  static ofTimeDifferenceAndGrace(timeDifferenceMs: number, graceMs: number): SlidingWindows {
    checkMs('the time difference of sliding windows', timeDifferenceMs, 0);
    checkMs('the grace period', graceMs, 0);
    return new SlidingWindows(timeDifferenceMs, graceMs);
  }

  static ofTimeDifferenceWithNoGrace(timeDifferenceMs: number): SlidingWindows {
    return SlidingWindows.ofTimeDifferenceAndGrace(timeDifferenceMs, 0);
  }
}
