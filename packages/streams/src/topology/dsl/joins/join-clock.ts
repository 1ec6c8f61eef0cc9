// The times a stream–stream join's two side processors share, kept in the join's state store so that a restart
// resumes with them: stream time, where the next look for closed non-joined records starts, and the highest time
// written to each side's window store (which decides what that store still holds).
import type { KeyValueStore } from '@eddy/state';
import type { BufferValue, JoinTimes } from './join-codecs.js';

/** The store key of the times (buffer buckets start at 0 or later; -1 is the buffer's index). */
const TIMES_KEY = -2;

export class JoinClock {
  private times: JoinTimes | undefined;
  private dirty = false;

  constructor(
    private readonly store: KeyValueStore<number, BufferValue<unknown>>,
    /** How long below its highest time a side's store keeps records: window size + grace. */
    private readonly retentionMs: number,
  ) {}

  /**
   * Forgets the times read from the store. Called before each record: while input that the stores already cover is
   * replayed after a crash, their writes are dropped, so a copy kept across records could drift from the store.
   */
  reload(): void {
    this.times = undefined;
    this.dirty = false;
  }

  /** Writes the times if a record changed them. */
  save(): void {
    if (!this.dirty) return;
    this.store.put(TIMES_KEY, { times: { ...this.loaded() } });
    this.dirty = false;
  }

  get streamTime(): number {
    return this.loaded().streamTime;
  }

  get minTime(): number {
    return this.loaded().minTime;
  }

  set minTime(t: number) {
    this.update({ minTime: t });
  }

  advanceStreamTime(ts: number): void {
    if (ts > this.loaded().streamTime) this.update({ streamTime: ts });
  }

  /** The lowest time a side's store still returns: the ones at or below its highest time - retention are gone. */
  lowestLive(left: boolean): number {
    const t = this.loaded();
    return (left ? t.observedLeft : t.observedRight) - this.retentionMs + 1;
  }

  /**
   * Records a write of time `ts` to a side's store: raises that store's highest time and says whether the store
   * keeps the record (false: it is too old for the store's retention).
   */
  write(left: boolean, ts: number): boolean {
    const t = this.loaded();
    const observed = left ? t.observedLeft : t.observedRight;
    if (ts > observed) this.update(left ? { observedLeft: ts } : { observedRight: ts });
    return ts > Math.max(observed, ts) - this.retentionMs;
  }

  private update(change: Partial<JoinTimes>): void {
    this.times = { ...this.loaded(), ...change };
    this.dirty = true;
  }

  private loaded(): JoinTimes {
    if (this.times === undefined) {
      const v = this.store.get(TIMES_KEY);
      this.times =
        v !== undefined && 'times' in v
          ? { ...v.times }
          : { streamTime: -1, minTime: Number.POSITIVE_INFINITY, observedLeft: -1, observedRight: -1 };
    }
    return this.times;
  }
}
