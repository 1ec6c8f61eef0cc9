// Tumbling and hopping time windows: fixed-size windows aligned to the epoch, advancing by a fixed step.
import { StreamsError } from '../../errors.js';

/** @internal a non-negative safe integer of ms, or INVALID_TOPOLOGY naming `what`. */
export function checkMs(what: string, ms: number, min: number): number {
  if (!Number.isSafeInteger(ms) || ms < min) {
    throw new StreamsError(
      'INVALID_TOPOLOGY',
      `${what} must be an integer number of ms ${min === 0 ? 'not below 0' : `of at least ${min}`}, got ${ms}`,
    );
  }
  return ms;
}

/**
 * Windows `[start, start + sizeMs)` with `start` a multiple of `advanceMs` (tumbling when it equals the size,
 * hopping when smaller). A record belongs to every window that contains its timestamp. A window closes when stream
 * time reaches its end plus the grace period; records for a closed window are dropped (`droppedRecords.late`).
 */
export class TimeWindows {
  private constructor(
    readonly sizeMs: number,
    readonly advanceMs: number,
    readonly graceMs: number,
  ) {}

  /** Tumbling windows of `sizeMs` that accept out-of-order records until `graceMs` after their end. */
  static ofSizeAndGrace(sizeMs: number, graceMs: number): TimeWindows {
    checkMs('the window size', sizeMs, 1);
    checkMs('the grace period', graceMs, 0);
    return new TimeWindows(sizeMs, sizeMs, graceMs);
  }

  /** Tumbling windows of `sizeMs` that close at their end. */
  static ofSizeWithNoGrace(sizeMs: number): TimeWindows {
    return TimeWindows.ofSizeAndGrace(sizeMs, 0);
  }

  /** Hopping windows: a new window every `advanceMs` (more than 0, at most the size). */
  advanceBy(advanceMs: number): TimeWindows {
    checkMs('the window advance', advanceMs, 1);
    if (advanceMs > this.sizeMs) {
      throw new StreamsError(
        'INVALID_TOPOLOGY',
        `the window advance (${advanceMs} ms) must not exceed the window size (${this.sizeMs} ms)`,
      );
    }
    return new TimeWindows(this.sizeMs, advanceMs, this.graceMs);
  }

  /**
   * The start of the earliest window containing `timestamp`; the others follow every `advanceMs` up to `timestamp`.
   * Windows never start before 0.
   */
  firstWindowStart(timestamp: number): number {
    const advance = this.advanceMs;
    return Math.floor(Math.max(0, timestamp - this.sizeMs + advance) / advance) * advance;
  }
}
