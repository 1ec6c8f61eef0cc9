// The suppression buffer: the latest change per key, ordered by buffer time, in a key-value store read only by
// point lookups (entries by key, and per time bucket numbered slots that name the keys it holds).
import type { KeyValueStore } from '@eddy/state';
import type { RecordHeaders } from '../../kafka/port.js';
import { slotKey, taggedKey } from './store-keys.js';

/**
 * The store layout (keys are bytes):
 * - `M`: meta, a small JSON document: observed stream time, entry count, estimated bytes, and the non-empty
 *   buckets in time order, each with its next slot number, live entry count and lowest live buffer time;
 * - `E` + key bytes: the entry of a key (buffer time, bucket and slot, record timestamp, headers, old, new and prior
 *   value);
 * - `S` + bucket + slot: the key bytes of an entry of that bucket (absent once the entry left the buffer).
 * A bucket covers `bucketMs` of buffer time; it and its slots disappear with its last entry.
 */
export type BufferStore = KeyValueStore<Buffer, Buffer>;

interface Bucket {
  id: number;
  next: number;
  live: number;
  min: number;
}

interface Meta {
  time: number;
  count: number;
  bytes: number;
  buckets: Bucket[];
}

/** A buffered change, in bytes as the table's serdes wrote it (null: absent value). */
export interface BufferedChange {
  key: Buffer;
  time: number;
  timestamp: number;
  headers: RecordHeaders;
  oldValue: Buffer | null;
  newValue: Buffer | null;
}

interface Entry extends BufferedChange {
  bucket: number;
  slot: number;
  /** The old value of the key's first buffered change: the value downstream last saw. */
  prior: Buffer | null;
}

const META = Buffer.from('M');

/** Where an entry of a bucket is, and when it is due. */
interface Slot {
  time: number;
  key: Buffer;
  slot: number;
}

const bySlotOrder = (a: Slot, b: Slot) => a.time - b.time || Buffer.compare(a.key, b.key);

function insertSorted(order: Slot[], s: Slot): void {
  let lo = 0;
  let hi = order.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (bySlotOrder(order[mid]!, s) <= 0) lo = mid + 1;
    else hi = mid;
  }
  order.splice(lo, 0, s);
}

export class SuppressBuffer {
  private meta: Meta | undefined;
  private dirty = false;
  // The eviction order of the first bucket once read: a cache of the store's slots and entry times (an entry's time
  // never changes while it is buffered). Entries are read again when they leave, so a stale slot is only skipped.
  private first: { id: number; order: Slot[] } | undefined;

  constructor(
    private readonly store: BufferStore,
    private readonly bucketMs: number,
  ) {}

  /** The highest record timestamp the buffer has seen (kept with it, so a restart does not forget it). */
  observe(timestamp: number): number {
    const meta = this.readMeta();
    if (timestamp > meta.time) {
      meta.time = timestamp;
      this.writeMeta(meta);
    }
    return meta.time;
  }

  get count(): number {
    return this.readMeta().count;
  }

  get bytes(): number {
    return this.readMeta().bytes;
  }

  /**
   * Buffers the latest change of `change.key`. A key already buffered keeps its buffer time and place (as in Kafka
   * Streams: more updates do not postpone it).
   */
  put(change: BufferedChange): void {
    const meta = this.readMeta();
    const entryKey = taggedKey('E', change.key);
    const existing = this.store.get(entryKey);
    let entry: Entry;
    if (existing !== undefined) {
      const old = decodeEntry(change.key, existing);
      meta.bytes -= sizeOf(old);
      entry = { ...change, time: old.time, bucket: old.bucket, slot: old.slot, prior: old.prior };
    } else {
      const id = Math.floor(change.time / this.bucketMs);
      let i = meta.buckets.findIndex((b) => b.id >= id);
      if (i === -1) i = meta.buckets.length;
      if (meta.buckets[i]?.id !== id) meta.buckets.splice(i, 0, { id, next: 0, live: 0, min: change.time });
      const bucket = meta.buckets[i]!;
      entry = { ...change, bucket: id, slot: bucket.next, prior: change.oldValue };
      bucket.next++;
      bucket.live++;
      if (change.time < bucket.min) bucket.min = change.time;
      meta.count++;
      this.store.put(slotKey('S', id, entry.slot), change.key);
      if (this.first?.id === id)
        insertSorted(this.first.order, { time: change.time, key: change.key, slot: entry.slot });
    }
    meta.bytes += sizeOf(entry);
    this.store.put(entryKey, encodeEntry(entry));
    this.writeMeta(meta);
  }

  /**
   * What downstream last saw of a buffered key (null: absent), with the timestamp of the key's latest buffered
   * change (as Kafka Streams gives it); undefined when the key is not buffered. Reads the store only (it is called
   * by other processors, between the records of this one).
   */
  priorValue(key: Buffer): { prior: Buffer | null; timestamp: number } | undefined {
    const bytes = this.store.get(taggedKey('E', key));
    if (bytes === undefined) return undefined;
    const { prior, timestamp } = decodeEntry(key, bytes);
    return { prior, timestamp };
  }

  /**
   * Removes entries in buffer-time order (then key bytes) and hands each to `emit`, while `shouldEvict(time)` holds
   * for the oldest one. Only the first bucket is ever read whole, once: its order is kept until it empties.
   */
  evictWhile(shouldEvict: (time: number) => boolean, emit: (change: BufferedChange) => void): void {
    const meta = this.readMeta();
    let changed = false;
    while (meta.buckets.length > 0) {
      const bucket = meta.buckets[0]!;
      if (!shouldEvict(bucket.min)) break;
      const order = this.orderOf(bucket);
      while (order.length > 0 && shouldEvict(order[0]!.time)) {
        const { key, slot } = order.shift()!;
        const entryKey = taggedKey('E', key);
        const bytes = this.store.get(entryKey);
        if (bytes === undefined) continue;
        const e = decodeEntry(key, bytes);
        this.store.delete(entryKey);
        this.store.delete(slotKey('S', bucket.id, slot));
        bucket.live--;
        meta.count--;
        meta.bytes -= sizeOf(e);
        changed = true;
        emit(e);
      }
      if (order.length > 0) {
        bucket.min = order[0]!.time;
        changed = true;
        break;
      }
      meta.buckets.shift();
      this.first = undefined;
      changed = true;
    }
    if (changed) this.writeMeta(meta);
  }

  /** The entries of the first bucket in eviction order, read from the store once and then kept up to date. */
  private orderOf(bucket: Bucket): Slot[] {
    if (this.first?.id === bucket.id) return this.first.order;
    const order: Slot[] = [];
    for (let slot = 0; slot < bucket.next; slot++) {
      const key = this.store.get(slotKey('S', bucket.id, slot));
      if (key === undefined) continue;
      const bytes = this.store.get(taggedKey('E', key));
      if (bytes !== undefined) order.push({ time: bytes.readDoubleBE(0), key, slot });
    }
    order.sort(bySlotOrder);
    this.first = { id: bucket.id, order };
    return order;
  }

  // The store is the truth between records: a record replayed after a restart, whose writes the store drops, must
  // not leave a copy here that disagrees with it. Within one record the copy saves parsing the meta again.
  private readMeta(): Meta {
    if (this.meta !== undefined) return this.meta;
    const bytes = this.store.get(META);
    if (bytes === undefined) {
      this.meta = { time: Number.NEGATIVE_INFINITY, count: 0, bytes: 0, buckets: [] };
    } else {
      const m = JSON.parse(bytes.toString('utf8')) as Meta & { time: number | null };
      this.meta = { ...m, time: m.time ?? Number.NEGATIVE_INFINITY };
    }
    return this.meta;
  }

  /** Ends the work of one record (also when it failed): writes the meta it changed, once. */
  release(): void {
    if (this.dirty && this.meta !== undefined) {
      this.store.put(META, Buffer.from(JSON.stringify(this.meta), 'utf8'));
    }
    this.meta = undefined;
    this.dirty = false;
  }

  private writeMeta(meta: Meta): void {
    this.meta = meta;
    this.dirty = true;
  }
}

/** An estimate of what an entry costs, as Kafka Streams counts it: times, key, values and headers. */
function sizeOf(e: Entry): number {
  let n = 8 + 8 + e.key.byteLength + (e.oldValue?.byteLength ?? 0) + (e.newValue?.byteLength ?? 0);
  // The prior value is usually the old value: counted once, as Kafka Streams does.
  if (e.prior !== null && !(e.oldValue !== null && e.prior.equals(e.oldValue))) n += e.prior.byteLength;
  for (const [name, value] of Object.entries(e.headers)) n += name.length + value.byteLength;
  return n;
}

function encodeEntry(e: Entry): Buffer {
  const headers = Object.entries(e.headers).map(([k, v]) => [Buffer.from(k, 'utf8'), v] as const);
  let size = 8 + 8 + 8 + 4 + 4 + 3 * 4;
  for (const v of [e.oldValue, e.newValue, e.prior]) size += v?.byteLength ?? 0;
  for (const [k, v] of headers) size += 8 + k.byteLength + v.byteLength;
  const out = Buffer.allocUnsafe(size);
  let at = out.writeDoubleBE(e.time, 0);
  at = out.writeDoubleBE(e.timestamp, at);
  at = out.writeDoubleBE(e.bucket, at);
  at = out.writeUInt32BE(e.slot, at);
  at = out.writeUInt32BE(headers.length, at);
  for (const [k, v] of headers) {
    at = out.writeUInt32BE(k.byteLength, at);
    at += k.copy(out, at);
    at = out.writeUInt32BE(v.byteLength, at);
    at += v.copy(out, at);
  }
  for (const v of [e.oldValue, e.newValue, e.prior]) {
    at = out.writeInt32BE(v === null ? -1 : v.byteLength, at);
    if (v !== null) at += v.copy(out, at);
  }
  return out;
}

function decodeEntry(key: Buffer, b: Buffer): Entry {
  const time = b.readDoubleBE(0);
  const timestamp = b.readDoubleBE(8);
  const bucket = b.readDoubleBE(16);
  const slot = b.readUInt32BE(24);
  const n = b.readUInt32BE(28);
  let at = 32;
  const headers: RecordHeaders = {};
  for (let i = 0; i < n; i++) {
    const kl = b.readUInt32BE(at);
    const k = b.toString('utf8', at + 4, at + 4 + kl);
    at += 4 + kl;
    const vl = b.readUInt32BE(at);
    headers[k] = Buffer.from(b.subarray(at + 4, at + 4 + vl));
    at += 4 + vl;
  }
  const values: (Buffer | null)[] = [];
  for (let i = 0; i < 3; i++) {
    const len = b.readInt32BE(at);
    at += 4;
    if (len < 0) values.push(null);
    else {
      values.push(Buffer.from(b.subarray(at, at + len)));
      at += len;
    }
  }
  const [oldValue, newValue, prior] = values as [Buffer | null, Buffer | null, Buffer | null];
  return { key, time, timestamp, bucket, slot, headers, oldValue, newValue, prior };
}
