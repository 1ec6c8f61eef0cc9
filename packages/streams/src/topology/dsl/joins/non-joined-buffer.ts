// The records of a left/outer stream–stream join that have not joined yet, held until their window closes: kept in
// the join's state store by time bucket, with an index of the non-empty buckets, so that every access is a point get.
// Records are ordered as Kafka Streams' outer-join store orders them: by time, right side first, then by key bytes.
import type { KeyValueStore } from '@eddy/state';
import type { BufferIndex, BufferValue, NonJoined } from './join-codecs.js';

/** The store key of the index; buckets start at 0 or later. */
const INDEX_KEY = -1;

/** Negative when `a` comes first. */
function compare(a: NonJoined<unknown>, b: NonJoined<unknown>): number {
  if (a.ts !== b.ts) return a.ts - b.ts;
  if (a.left !== b.left) return a.left ? 1 : -1;
  return Buffer.compare(a.keyBytes, b.keyBytes);
}

export class NonJoinedBuffer<K> {
  private index: BufferIndex | undefined;

  constructor(
    private readonly store: KeyValueStore<number, BufferValue<K>>,
    private readonly bucketMs: number,
  ) {}

  /** Forgets the index read from the store (see `JoinClock.reload`). */
  reload(): void {
    this.index = undefined;
  }

  /** Adds a record after the ones it does not come before (records of one side, key and time keep arrival order). */
  add(entry: NonJoined<K>): void {
    const start = this.bucketOf(entry.ts);
    const list = this.entries(start);
    let i = list.length;
    while (i > 0 && compare(list[i - 1]!, entry) > 0) i--;
    list.splice(i, 0, entry);
    this.store.put(start, { entries: list });
    const buckets = this.loaded().buckets;
    if (!buckets.includes(start)) {
      buckets.push(start);
      buckets.sort((a, b) => a - b);
      this.saveIndex();
    }
  }

  /** Forgets the records of one side, key and timestamp: they joined. */
  removeJoined(left: boolean, keyBytes: Uint8Array, ts: number): void {
    const start = this.bucketOf(ts);
    const list = this.store.get(start);
    if (list === undefined || !('entries' in list)) return;
    const kept = list.entries.filter(
      (e) => e.left !== left || e.ts !== ts || Buffer.compare(e.keyBytes, keyBytes) !== 0,
    );
    if (kept.length === list.entries.length) return;
    this.write(start, kept);
  }

  /**
   * Looks at the records in order and hands over (and forgets) each one whose window has closed at `streamTime`
   * (its time + `closesAfter` of its side is below it), as Kafka Streams does: the look goes on past open records
   * while one side has no open record yet, and stops at the first record after both sides have had one. Returns the
   * time of the last record looked at (Infinity when there was none), where the next look may start.
   */
  emitClosed(
    streamTime: number,
    closesAfter: { left: number; right: number },
    emit: (entry: NonJoined<K>) => void,
  ): number {
    let last = Number.POSITIVE_INFINITY;
    let leftOpen = false;
    let rightOpen = false;
    for (const start of [...this.loaded().buckets]) {
      const list = this.entries(start);
      const kept: NonJoined<K>[] = [];
      let i = 0;
      for (; i < list.length; i++) {
        const e = list[i]!;
        last = e.ts;
        if (leftOpen && rightOpen) break;
        if (e.ts + (e.left ? closesAfter.left : closesAfter.right) >= streamTime) {
          if (e.left) leftOpen = true;
          else rightOpen = true;
          kept.push(e);
          continue;
        }
        emit(e);
      }
      if (kept.length !== i) this.write(start, [...kept, ...list.slice(i)]);
      if (i < list.length) break;
    }
    return last;
  }

  private write(start: number, list: NonJoined<K>[]): void {
    if (list.length > 0) {
      this.store.put(start, { entries: list });
      return;
    }
    this.store.delete(start);
    const buckets = this.loaded().buckets;
    const i = buckets.indexOf(start);
    if (i >= 0) {
      buckets.splice(i, 1);
      this.saveIndex();
    }
  }

  private entries(start: number): NonJoined<K>[] {
    const v = this.store.get(start);
    return v !== undefined && 'entries' in v ? [...v.entries] : [];
  }

  private bucketOf(ts: number): number {
    return ts - (ts % this.bucketMs);
  }

  private loaded(): BufferIndex {
    if (this.index === undefined) {
      const v = this.store.get(INDEX_KEY);
      this.index = v !== undefined && 'index' in v ? { buckets: [...v.index.buckets] } : { buckets: [] };
    }
    return this.index;
  }

  private saveIndex(): void {
    this.store.put(INDEX_KEY, { index: { buckets: [...this.loaded().buckets] } });
  }
}
