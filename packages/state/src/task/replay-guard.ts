// Decides whether a write replays input whose effect a store already holds (source offset at or below its mark).
import type { SourcePositions } from './source-marks.js';

/** The input record being processed; one mutable object per task, updated by setSourcePosition. */
export interface CurrentSource {
  topic: string | undefined;
  partition: number;
  offset: number;
  /** Set by the first write the current record makes (a record that fails after it leaves the stores torn). */
  wrote: boolean;
}

export class ReplayGuard {
  constructor(
    private readonly current: CurrentSource,
    readonly marks: SourcePositions,
  ) {}

  /** Asked before each write: true when it must be dropped, as its effect is already in the store. */
  isReplay(): boolean {
    const c = this.current;
    if (c.topic === undefined) return false;
    const mark = this.marks.get(c.topic, c.partition);
    if (mark !== undefined && c.offset <= mark) return true;
    c.wrote = true;
    return false;
  }
}
