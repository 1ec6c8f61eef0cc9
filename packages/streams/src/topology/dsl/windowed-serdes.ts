// Serdes of windowed keys in Kafka Streams' wire format, for topics and for state stores.

import { prepareInner, type StoreSerde } from '../../serdes/serde.js';
import type { DslSerde } from './serdes.js';
import { checkMs } from './time-windows.js';
import type { Windowed } from './windowed.js';

const LONG_BYTES = 8;
const TWO_TO_32 = 2 ** 32;

/** @internal writes a safe integer as a big-endian signed 64-bit integer. */
export function writeLong(out: Buffer, value: number, at: number): void {
  out.writeInt32BE(Math.floor(value / TWO_TO_32), at);
  out.writeUInt32BE(value >>> 0, at + 4);
}

/** @internal reads a big-endian signed 64-bit integer; RangeError when it is not a safe integer. */
export function readLong(bytes: Buffer, at: number): number {
  const value = bytes.readInt32BE(at) * TWO_TO_32 + bytes.readUInt32BE(at + 4);
  if (!Number.isSafeInteger(value)) throw new RangeError(`a window time of ${value} is out of range`);
  return value;
}

const asBuffer = (b: Uint8Array): Buffer =>
  Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);

function windowedSerde<K>(
  inner: StoreSerde<K>,
  times: number,
  write: (out: Buffer, key: Windowed<K>, at: number) => void,
  read: (bytes: Buffer, at: number) => { start: number; end: number },
): DslSerde<Windowed<K>> {
  const innerId = inner.cacheKey;
  const serde = {
    serialize(windowed: Windowed<K> | null): Buffer | null {
      if (windowed === null || windowed === undefined) return null;
      const key = inner.serialize(windowed.key);
      const out = Buffer.allocUnsafe(key.length + LONG_BYTES * times);
      out.set(key, 0);
      write(out, windowed, key.length);
      return out;
    },
    deserialize(bytes: Uint8Array | null): Windowed<K> | null {
      if (bytes === null) return null;
      const buf = asBuffer(bytes);
      const at = buf.length - LONG_BYTES * times;
      if (at < 0)
        throw new RangeError(`a windowed key needs at least ${LONG_BYTES * times} bytes, got ${buf.length}`);
      return { key: inner.deserialize(buf.subarray(0, at)), window: read(buf, at) };
    },
    ...prepareInner(inner),
    // The times are decimal digits after the last NUL: equal ids mean equal inner keys and equal times.
    ...(innerId === undefined
      ? {}
      : {
          cacheKey: (w: Windowed<K>) =>
            `${innerId.call(inner, w.key)}\u0000${w.window.start}\u0000${times === 2 ? w.window.end : ''}`,
        }),
  };
  return serde as DslSerde<Windowed<K>>;
}

export const WindowedSerdes = {
  /**
   * Keys of time or sliding windows: the inner key's bytes, then the window start as an 8-byte big-endian integer.
   * The end is not written: reading gives `start + windowSizeMs` (for sliding windows, the time difference).
   */
  timeWindowed<K>(inner: StoreSerde<K>, windowSizeMs: number): DslSerde<Windowed<NonNullable<K>>> {
    checkMs('the window size of a windowed serde', windowSizeMs, 0);
    return windowedSerde(
      inner as StoreSerde<NonNullable<K>>,
      1,
      (out, w, at) => writeLong(out, w.window.start, at),
      (bytes, at) => {
        const start = readLong(bytes, at);
        const end = start + windowSizeMs;
        if (!Number.isSafeInteger(end))
          throw new RangeError(`a window starting at ${start} ends out of range`);
        return { start, end };
      },
    );
  },
  /** Keys of session windows: the inner key's bytes, then the session end and its start, 8 bytes big-endian each. */
  sessionWindowed<K>(inner: StoreSerde<K>): DslSerde<Windowed<NonNullable<K>>> {
    return windowedSerde(
      inner as StoreSerde<NonNullable<K>>,
      2,
      (out, w, at) => {
        writeLong(out, w.window.end, at);
        writeLong(out, w.window.start, at + LONG_BYTES);
      },
      (bytes, at) => {
        const end = readLong(bytes, at);
        const start = readLong(bytes, at + LONG_BYTES);
        if (start > end) throw new RangeError(`a session key's start ${start} is after its end ${end}`);
        return { start, end };
      },
    );
  },
} as const;
