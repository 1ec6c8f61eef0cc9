// What a table's store keeps per key (and a windowed aggregation's per window): the value and its timestamp.
import { prepareInner, type StoreSerde } from '../../serdes/serde.js';

/**
 * The value a table's store holds per key, and a windowed aggregation's per key and window (as Kafka Streams'
 * timestamped stores): the value, and the timestamp its updates are forwarded with (a table read from a topic: that
 * of the record; an aggregation: the highest of the records behind it; a table–table join: the higher of its sides').
 */
export interface ValueAndTimestamp<V> {
  readonly value: V;
  readonly timestamp: number;
}

/**
 * @internal a window's value; frozen when the aggregate is a primitive, so that a caching window store may keep it
 * unserialized until its flush (as a key-value store keeps numbers).
 */
export function valueAndTimestamp<V>(value: V, timestamp: number): ValueAndTimestamp<V> {
  const v = { value, timestamp };
  return typeof value === 'object' || typeof value === 'function' ? v : Object.freeze(v);
}

const asBuffer = (b: Uint8Array): Buffer =>
  Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/** The serdes made by `valueAndTimestampSerde`: their stores hold a `ValueAndTimestamp` per entry. */
const timestampedSerdes = new WeakSet<object>();

/** @internal whether a store's value serde is a `valueAndTimestampSerde` (interactive queries show plain values). */
export function isValueAndTimestampSerde(serde: unknown): boolean {
  return typeof serde === 'object' && serde !== null && timestampedSerdes.has(serde);
}

/** @internal the timestamp as an 8-byte big-endian double, then the value's bytes. */
export function valueAndTimestampSerde<V>(inner: StoreSerde<V>): StoreSerde<ValueAndTimestamp<V>> {
  const serde: StoreSerde<ValueAndTimestamp<V>> = {
    serialize: (v) => withTimestamp(inner.serialize(v.value), v.timestamp),
    deserialize(bytes) {
      const buf = asBuffer(bytes);
      if (buf.length < 8)
        throw new RangeError(`a value with its timestamp needs 8 bytes or more, got ${buf.length}`);
      const timestamp = buf.readDoubleBE(0);
      if (Number.isNaN(timestamp)) throw new RangeError('a value whose timestamp is NaN');
      return valueAndTimestamp(inner.deserialize(buf.subarray(8)), timestamp);
    },
    lossless: inner.lossless === true,
    ...prepareInner(inner),
  };
  timestampedSerdes.add(serde);
  return serde;
}

/** @internal the stored bytes of a value already serialized: its timestamp (8 bytes), then the value's bytes. */
export function withTimestamp(value: Uint8Array, timestamp: number): Buffer {
  const out = Buffer.allocUnsafe(8 + value.length);
  out.writeDoubleBE(timestamp, 0);
  out.set(value, 8);
  return out;
}
