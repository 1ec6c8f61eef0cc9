// JoinWindows: how far apart in time two records of a stream–stream join may be, and how long a window stays open.
import { StreamsError } from '../../../errors.js';

function checkMs(what: string, ms: number, negativeAllowed = false): number {
  if (!Number.isSafeInteger(ms) || (ms < 0 && !negativeAllowed)) {
    throw new StreamsError(
      'INVALID_TOPOLOGY',
      `JoinWindows: ${what} must be a whole number of ms${negativeAllowed ? '' : ' >= 0'}, got ${ms}`,
    );
  }
  return ms;
}

/** before + after is the window's size: either bound may be negative (the window then excludes `t`), not their sum. */
function checkSize(beforeMs: number, afterMs: number): void {
  if (beforeMs + afterMs < 0) {
    throw new StreamsError(
      'INVALID_TOPOLOGY',
      `JoinWindows: before + after must not be negative, got ${beforeMs} + ${afterMs}`,
    );
  }
}

/**
 * A left record at time `t` joins right records with times in `[t - beforeMs, t + afterMs]` (both bounds
 * inclusive; a right record at `t'` joins left ones in `[t' - afterMs, t' + beforeMs]`). Each side's store keeps its
 * records for window size + grace below the highest time written to it: an out-of-order record, however late, joins
 * the other side's records the other store still holds; one too old for its own store is counted as `expired` in
 * `droppedRecords` and joins no later record. Left and outer joins emit a record's null-padded result once its window
 * has closed without a match (stream time past `t + afterMs + graceMs` for a left record, `t' + beforeMs +
 * graceMs` for a right one), or at once when its window had already ended (`t + afterMs` or `t' + beforeMs` below
 * stream time) when it arrived.
 */
export class JoinWindows {
  private constructor(
    readonly beforeMs: number,
    readonly afterMs: number,
    readonly graceMs: number,
  ) {
    checkSize(beforeMs, afterMs);
  }

  /** Records at most `timeDifferenceMs` apart join; a window closes `graceMs` of stream time after it ends. */
  static ofTimeDifferenceAndGrace(timeDifferenceMs: number, graceMs: number): JoinWindows {
    const d = checkMs('the time difference', timeDifferenceMs);
    return new JoinWindows(d, d, checkMs('the grace period', graceMs));
  }

  /** Records at most `timeDifferenceMs` apart join; windows close as soon as stream time passes their end. */
  static ofTimeDifferenceWithNoGrace(timeDifferenceMs: number): JoinWindows {
    return JoinWindows.ofTimeDifferenceAndGrace(timeDifferenceMs, 0);
  }

  /** How much earlier than a left record a right record may be (negative: how much later it must be at least). */
  before(ms: number): JoinWindows {
    return new JoinWindows(checkMs('before', ms, true), this.afterMs, this.graceMs);
  }

  /** How much later than a left record a right record may be (negative: how much earlier it must be at least). */
  after(ms: number): JoinWindows {
    return new JoinWindows(this.beforeMs, checkMs('after', ms, true), this.graceMs);
  }

  /** beforeMs + afterMs. */
  get sizeMs(): number {
    return this.beforeMs + this.afterMs;
  }
}
