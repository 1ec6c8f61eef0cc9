// Tracks observed stream time of a time-bounded store and drops whole expired segments with one range delete.
import type { StreamTimeCell } from '../api/store-builder.js';
import type { BytesStore } from '../layers/bytes-store.js';
import { segmentBounds, segmentOf } from './segmented-key.js';

export class SegmentRetention {
  private droppedBelow = 0;

  constructor(
    readonly retentionMs: number,
    readonly segmentIntervalMs: number,
    /** Shared with the task state manager, which restores it from the checkpoint and writes it with each commit. */
    private readonly time: StreamTimeCell = { value: -1 },
  ) {}

  /** Highest time written (or restored); -1 until the first write (then nothing is considered expired). */
  get streamTime(): number {
    return this.time.value;
  }

  /** Times at or below this are expired. */
  cutoff(): number {
    return this.streamTime < 0 ? -1 : this.streamTime - this.retentionMs;
  }

  isExpired(time: number): boolean {
    return time <= this.cutoff();
  }

  /** Lowest live time (>= 0). */
  lowestLive(): number {
    return Math.max(0, this.cutoff() + 1);
  }

  /**
   * Advances stream time; when a segment boundary passes, range-deletes the segments now wholly expired: from segment
   * 0 the first time (whatever an earlier run left), then only the newly expired ones. A range over segments deleted
   * before would make LevelDB walk their deletion markers again on every drop until it compacts them.
   */
  observe(time: number, store: Pick<BytesStore, 'deleteRange'>): void {
    if (time <= this.time.value) return;
    this.time.value = time;
    const firstLive = segmentOf(this.lowestLive(), this.segmentIntervalMs);
    if (firstLive > this.droppedBelow) {
      store.deleteRange(segmentBounds(this.droppedBelow, firstLive));
      this.droppedBelow = firstLive;
    }
  }
}
