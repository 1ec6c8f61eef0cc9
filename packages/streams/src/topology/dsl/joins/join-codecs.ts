// Byte layouts of a stream–stream join's stored values: time-bucketed record lists, the non-joined records and the
// join's clock.
import type { StoreSerde } from '../../../serdes/serde.js';

/** A record kept by a join: its timestamp and value (and, in the non-joined buffer, its key and side). */
export interface TimedValue<V> {
  ts: number;
  value: V;
}

export interface NonJoined<K> {
  left: boolean;
  key: K;
  /** The key serialized: the buffer orders records of one time by these bytes. */
  keyBytes: Uint8Array;
  ts: number;
  value: unknown;
}

/** The buffer's index entry: the starts of its non-empty buckets, ascending. */
export interface BufferIndex {
  buckets: number[];
}

/** The times both sides of a join share (-1: none seen yet). */
export interface JoinTimes {
  /** The highest timestamp either side has processed. */
  streamTime: number;
  /** Where the next look for closed non-joined records may start (Infinity: at once). */
  minTime: number;
  /** The highest timestamp written to each side's store: each keeps the records of `retention` below it. */
  observedLeft: number;
  observedRight: number;
}

export type BufferValue<K> = { index: BufferIndex } | { entries: NonJoined<K>[] } | { times: JoinTimes };

/** Writes into one buffer of a size given up front (callers count their bytes first). */
class Writer {
  private readonly buf: Buffer;
  private at = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }
  u8(n: number): void {
    this.at = this.buf.writeUInt8(n, this.at);
  }
  u32(n: number): void {
    this.at = this.buf.writeUInt32BE(n, this.at);
  }
  f64(n: number): void {
    this.at = this.buf.writeDoubleBE(n, this.at);
  }
  bytes(data: Uint8Array): void {
    this.u32(data.byteLength);
    this.buf.set(data, this.at);
    this.at += data.byteLength;
  }
  done(): Uint8Array {
    return this.buf;
  }
}

class Reader {
  private at = 0;
  private readonly buf: Buffer;
  constructor(bytes: Uint8Array) {
    this.buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  u8(): number {
    return this.buf.readUInt8(this.at++);
  }
  /** A count of items of at least `minBytes` each: RangeError when the bytes left cannot hold that many. */
  count(minBytes: number): number {
    const n = this.u32();
    if (n * minBytes > this.buf.length - this.at)
      throw new RangeError(`${n} items cannot fit in the bytes left`);
    return n;
  }
  u32(): number {
    const n = this.buf.readUInt32BE(this.at);
    this.at += 4;
    return n;
  }
  f64(): number {
    const n = this.buf.readDoubleBE(this.at);
    // Times are numbers (Infinity included); NaN is never written.
    if (Number.isNaN(n)) throw new RangeError(`a time at byte ${this.at} is NaN`);
    this.at += 8;
    return n;
  }
  bytes(): Uint8Array {
    const n = this.u32();
    if (this.at + n > this.buf.length)
      throw new RangeError(`${n} bytes announced, ${this.buf.length - this.at} left`);
    // A copy: serdes may keep what they are given, and stores reuse their arrays.
    const out = Buffer.from(this.buf.subarray(this.at, this.at + n));
    this.at += n;
    return out;
  }
  /** RangeError unless every byte was read. */
  end(): void {
    if (this.at !== this.buf.length) throw new RangeError(`${this.buf.length - this.at} trailing byte(s)`);
  }
}

/** A list of timed values of one key in one bucket of a side's window store. */
export function timedListSerde<V>(valueSerde: StoreSerde<V>): StoreSerde<TimedValue<V>[]> {
  return {
    serialize(list) {
      const values = list.map((e) => valueSerde.serialize(e.value));
      let size = 4;
      for (const v of values) size += 12 + v.byteLength;
      const w = new Writer(size);
      w.u32(list.length);
      for (let i = 0; i < list.length; i++) {
        w.f64(list[i]!.ts);
        w.bytes(values[i]!);
      }
      return w.done();
    },
    deserialize(bytes) {
      const r = new Reader(bytes);
      const n = r.count(12);
      const out: TimedValue<V>[] = new Array(n);
      for (let i = 0; i < n; i++) {
        const ts = r.f64();
        out[i] = { ts, value: valueSerde.deserialize(r.bytes()) };
      }
      r.end();
      return out;
    },
  };
}

/** The join state store's values: the buffer's index, the records of one bucket (both sides, all keys), the times. */
export function bufferValueSerde<K>(
  keySerde: StoreSerde<K>,
  leftSerde: StoreSerde<unknown>,
  rightSerde: StoreSerde<unknown>,
): StoreSerde<BufferValue<K>> {
  return {
    serialize(v) {
      if ('index' in v) {
        const w = new Writer(5 + 8 * v.index.buckets.length);
        w.u8(0);
        w.u32(v.index.buckets.length);
        for (const b of v.index.buckets) w.f64(b);
        return w.done();
      }
      if ('times' in v) {
        const w = new Writer(33);
        w.u8(2);
        w.f64(v.times.streamTime);
        w.f64(v.times.minTime);
        w.f64(v.times.observedLeft);
        w.f64(v.times.observedRight);
        return w.done();
      }
      const values = v.entries.map((e) => (e.left ? leftSerde : rightSerde).serialize(e.value));
      let size = 5;
      for (let i = 0; i < values.length; i++) {
        size += 17 + v.entries[i]!.keyBytes.byteLength + values[i]!.byteLength;
      }
      const w = new Writer(size);
      w.u8(1);
      w.u32(v.entries.length);
      for (let i = 0; i < values.length; i++) {
        const e = v.entries[i]!;
        w.u8(e.left ? 1 : 0);
        w.f64(e.ts);
        w.bytes(e.keyBytes);
        w.bytes(values[i]!);
      }
      return w.done();
    },
    deserialize(bytes) {
      const r = new Reader(bytes);
      const tag = r.u8();
      if (tag === 0) {
        const n = r.count(8);
        const buckets: number[] = new Array(n);
        for (let i = 0; i < n; i++) buckets[i] = r.f64();
        r.end();
        return { index: { buckets } };
      }
      if (tag === 2) {
        const [streamTime, minTime, observedLeft, observedRight] = [r.f64(), r.f64(), r.f64(), r.f64()];
        r.end();
        return { times: { streamTime, minTime, observedLeft, observedRight } };
      }
      if (tag !== 1) throw new RangeError(`a join buffer value of unknown kind ${tag}`);
      const n = r.count(17);
      const entries: NonJoined<K>[] = new Array(n);
      for (let i = 0; i < n; i++) {
        const side = r.u8();
        if (side > 1) throw new RangeError(`a join buffer entry of unknown side ${side}`);
        const left = side === 1;
        const ts = r.f64();
        const keyBytes = r.bytes();
        const key = keySerde.deserialize(keyBytes);
        const value = (left ? leftSerde : rightSerde).deserialize(r.bytes());
        entries[i] = { left, ts, key, keyBytes, value };
      }
      r.end();
      return { entries };
    },
  };
}

/** Inserts `entry` after every entry with a timestamp at or below its own (time order, then arrival order). */
export function insertByTime<E extends { ts: number }>(list: E[], entry: E): void {
  let i = list.length;
  while (i > 0 && list[i - 1]!.ts > entry.ts) i--;
  list.splice(i, 0, entry);
}
