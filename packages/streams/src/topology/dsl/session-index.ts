// Where a session aggregation finds a key's sessions by point lookups: per key the bounds of its sessions, and
// per time bucket the keys whose latest session ends in it, so that keys whose sessions all expired are removed
// without scanning the store.
import type { KeyValueStore } from '@eddy/state';
import { slotKey, taggedKey } from './store-keys.js';

/**
 * The store layout (keys are bytes):
 * - `M`: the non-empty buckets in time order with their next slot number (JSON);
 * - `K` + key bytes: the bucket the key is registered in, then its sessions' `[start, end, ...]` ordered by end
 *   then start (the order the session store finds them in);
 * - `T` + bucket + slot: the bytes of a key registered in that bucket (stale once the key moved to a later one).
 * A key is registered in the bucket of its latest session end; when stream time makes a whole bucket expire, the
 * keys still registered there have no live session left and leave the index.
 */
export type SessionIndexStore = KeyValueStore<Buffer, Buffer>;

interface Bucket {
  id: number;
  next: number;
}

const META = Buffer.from('M');

export class SessionIndex {
  // A copy of the `M` entry, written through; a write the store drops on a replay leaves at most a slot number
  // skipped or a slot read as absent.
  private buckets: Bucket[] | undefined;
  private lastKey: Buffer | undefined;
  private lastBucket: number | undefined;

  constructor(
    private readonly store: SessionIndexStore,
    private readonly bucketMs: number,
  ) {}

  /** The key's sessions as `[start, end, ...]`, ordered by end then start. */
  get(key: Buffer): number[] {
    const bytes = this.store.get(taggedKey('K', key));
    this.lastKey = key;
    this.lastBucket = bytes?.readDoubleBE(0);
    if (bytes === undefined) return [];
    const out: number[] = new Array(bytes.byteLength / 8 - 1);
    for (let i = 0; i < out.length; i++) out[i] = bytes.readDoubleBE(8 + i * 8);
    return out;
  }

  /** Replaces the key's sessions (at least one), registering the key in the bucket of its latest end. */
  set(key: Buffer, bounds: number[]): void {
    const entryKey = taggedKey('K', key);
    // The bucket the key is registered in: known from the `get` of the same key just before, as a rule.
    const registered = this.lastKey === key ? this.lastBucket : this.store.get(entryKey)?.readDoubleBE(0);
    const bucket = Math.floor(bounds[bounds.length - 1]! / this.bucketMs);
    if (registered !== bucket) this.register(key, bucket);
    const out = Buffer.allocUnsafe(8 + bounds.length * 8);
    out.writeDoubleBE(bucket, 0);
    for (let i = 0; i < bounds.length; i++) out.writeDoubleBE(bounds[i]!, 8 + i * 8);
    this.store.put(entryKey, out);
    this.lastKey = undefined;
  }

  /** Removes the keys whose sessions all end at or before `cutoff`, a bucket at a time. */
  expire(cutoff: number): void {
    const buckets = this.loadBuckets();
    let changed = false;
    while (buckets.length > 0 && (buckets[0]!.id + 1) * this.bucketMs - 1 <= cutoff) {
      const { id, next } = buckets.shift()!;
      changed = true;
      for (let slot = 0; slot < next; slot++) {
        const at = slotKey('T', id, slot);
        const key = this.store.get(at);
        if (key === undefined) continue;
        this.store.delete(at);
        const entryKey = taggedKey('K', key);
        if (this.store.get(entryKey)?.readDoubleBE(0) === id) this.store.delete(entryKey);
      }
    }
    if (changed) this.writeBuckets(buckets);
    this.lastKey = undefined;
  }

  private register(key: Buffer, id: number): void {
    const buckets = this.loadBuckets();
    let i = buckets.findIndex((b) => b.id >= id);
    if (i === -1) i = buckets.length;
    if (buckets[i]?.id !== id) buckets.splice(i, 0, { id, next: 0 });
    const bucket = buckets[i]!;
    this.store.put(slotKey('T', id, bucket.next), key);
    bucket.next++;
    this.writeBuckets(buckets);
  }

  private loadBuckets(): Bucket[] {
    if (this.buckets === undefined) {
      const bytes = this.store.get(META);
      this.buckets = bytes === undefined ? [] : (JSON.parse(bytes.toString('utf8')) as Bucket[]);
    }
    return this.buckets;
  }

  private writeBuckets(buckets: Bucket[]): void {
    this.buckets = buckets;
    if (buckets.length === 0) this.store.delete(META);
    else this.store.put(META, Buffer.from(JSON.stringify(buckets), 'utf8'));
  }
}
