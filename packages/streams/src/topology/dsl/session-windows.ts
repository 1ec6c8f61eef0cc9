// SessionWindows: windows that grow around bursts of activity of a key and close after a gap of inactivity.
import { StreamsError } from '../../errors.js';

/**
 * Sessions of a key: records closer than `gapMs` to each other (in event time) fall into one session, whose bounds
 * are its first and last record's timestamps (both inclusive). A session accepts records until stream time passes
 * its end + gap + grace; later records are dropped and counted as `late`.
 */
export class SessionWindows {
  private constructor(
    readonly gapMs: number,
    readonly graceMs: number,
  ) {}

  /** Sessions separated by at least `gapMs` of inactivity, accepting out-of-order records for `graceMs` more. */
  static ofInactivityGapAndGrace(gapMs: number, graceMs: number): SessionWindows {
    if (!Number.isSafeInteger(gapMs) || gapMs <= 0) {
      throw new StreamsError(
        'INVALID_TOPOLOGY',
        `a session gap must be a positive integer (ms), got ${gapMs}`,
      );
    }
    if (!Number.isSafeInteger(graceMs) || graceMs < 0) {
      throw new StreamsError(
        'INVALID_TOPOLOGY',
        `a grace period must be an integer >= 0 (ms), got ${graceMs}`,
      );
    }
    return new SessionWindows(gapMs, graceMs);
  }

  /** Sessions with no grace: a record more than `gapMs` behind stream time can only start or join a closed session. */
  static ofInactivityGapWithNoGrace(gapMs: number): SessionWindows {
    return SessionWindows.ofInactivityGapAndGrace(gapMs, 0);
  }
}
