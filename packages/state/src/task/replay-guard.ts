// Decides whether a write replays input whose effect a store already holds (source offset at or below its mark).
import type { SourcePositions } from './source-marks.js';

/** The input record being processed; one mutable object per task, updated by setSourcePosition. */
export interface CurrentSource {
  topic: string | undefined;
  partition: number;
  offset: number;
}

export class ReplayGuard {
  constructor(
    private readonly current: CurrentSource,
    readonly marks: SourcePositions,
  ) {}

  /** True when the write must be dropped: its effect is already in the store. */
  isReplay(): boolean {
    const c = this.current;
    if (c.topic === undefined) return false;
    const mark = this.marks.get(c.topic, c.partition);
    return mark !== undefined && c.offset <= mark;
  }
}
