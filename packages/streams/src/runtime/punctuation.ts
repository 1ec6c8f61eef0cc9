// Punctuation schedules of one task: callbacks due on stream time or on wall-clock time.

export type PunctuationType = 'stream-time' | 'wall-clock';
export type Punctuator = (timestamp: number) => void;

/** Returned by `schedule`; cancelling stops further calls. */
export interface Cancellable {
  cancel(): void;
}

interface Schedule {
  interval: number;
  /** The first time it is due; undefined until stream time is known. */
  due: number | undefined;
  punctuator: Punctuator;
  cancelled: boolean;
}

export class PunctuationQueue {
  private readonly schedules: Record<PunctuationType, Schedule[]> = { 'stream-time': [], 'wall-clock': [] };

  schedule(
    interval: number,
    type: PunctuationType,
    punctuator: Punctuator,
    now: number | undefined,
  ): Cancellable {
    const s: Schedule = {
      interval,
      due: now === undefined ? undefined : now + interval,
      punctuator,
      cancelled: false,
    };
    this.schedules[type].push(s);
    return {
      cancel: () => {
        s.cancelled = true;
        const list = this.schedules[type];
        const i = list.indexOf(s);
        if (i >= 0) list.splice(i, 1);
      },
    };
  }

  /**
   * Calls each punctuator of `type` that is due at `time`, once, even if several intervals passed; the next due
   * time stays on the schedule's grid. Returns how many fired.
   */
  fire(type: PunctuationType, time: number, call: (p: Punctuator, time: number) => void): number {
    let fired = 0;
    for (const s of [...this.schedules[type]]) {
      if (s.cancelled) continue;
      if (s.due === undefined) {
        s.due = time + s.interval;
        continue;
      }
      if (time < s.due) continue;
      s.due += s.interval * (Math.floor((time - s.due) / s.interval) + 1);
      fired++;
      call(s.punctuator, time);
    }
    return fired;
  }

  /** The earliest wall-clock due time, if any wall-clock schedule exists. */
  nextWallClockDue(): number | undefined {
    let min: number | undefined;
    for (const s of this.schedules['wall-clock'])
      if (s.due !== undefined && (min === undefined || s.due < min)) min = s.due;
    return min;
  }

  get hasWallClock(): boolean {
    return this.schedules['wall-clock'].length > 0;
  }
}
