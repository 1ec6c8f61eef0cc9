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
  // The mark of the last partition asked about, while the marks have not changed: a task's writes come in runs of
  // one input partition, and the marks change only at commits and restores.
  private markTopic: string | undefined;
  private markPartition = -1;
  private markVersion = -1;
  private mark: number | undefined;

  constructor(
    private readonly current: CurrentSource,
    readonly marks: SourcePositions,
  ) {}

  /** Asked before each write: true when it must be dropped, as its effect is already in the store. */
  isReplay(): boolean {
    const c = this.current;
    if (c.topic === undefined) return false;
    const marks = this.marks;
    if (
      c.topic !== this.markTopic ||
      c.partition !== this.markPartition ||
      marks.version !== this.markVersion
    ) {
      this.mark = marks.get(c.topic, c.partition);
      this.markTopic = c.topic;
      this.markPartition = c.partition;
      this.markVersion = marks.version;
    }
    const mark = this.mark;
    if (mark !== undefined && c.offset <= mark) return true;
    c.wrote = true;
    return false;
  }
}
