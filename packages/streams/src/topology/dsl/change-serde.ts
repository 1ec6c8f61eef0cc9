// The serde of table changes on a repartition topic (KTable.groupBy): the new and the old value in one record.
import { prepareInner } from '../../serdes/serde.js';
import type { Change } from './change.js';
import type { DslSerde } from './serdes.js';

const NEW_PRESENT = 1;
const OLD_PRESENT = 2;

/**
 * Layout: a flags byte (1: new value present, 2: old value present); with a new value, its length as a 32-bit
 * big-endian integer and its bytes; then the old value's bytes to the end. Values are written with `valueSerde`.
 */
export function changeSerde<V>(valueSerde: DslSerde<V>): DslSerde<Change<V>> {
  const serialize = (change: Change<V>): Buffer => {
    const flags = (change.newValue === null ? 0 : NEW_PRESENT) | (change.oldValue === null ? 0 : OLD_PRESENT);
    const parts: Uint8Array[] = [Buffer.of(flags)];
    if (change.newValue !== null) {
      const bytes = valueSerde.serialize(change.newValue);
      const length = Buffer.allocUnsafe(4);
      length.writeUInt32BE(bytes.byteLength);
      parts.push(length, bytes);
    }
    if (change.oldValue !== null) parts.push(valueSerde.serialize(change.oldValue));
    return Buffer.concat(parts);
  };
  const deserialize = (data: Uint8Array): Change<V> => {
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (buf.length < 1) throw new RangeError('a table change needs at least 1 byte');
    const flags = buf.readUInt8(0);
    if ((flags & ~(NEW_PRESENT | OLD_PRESENT)) !== 0) {
      throw new RangeError(`a table change has unknown flags 0x${flags.toString(16)}`);
    }
    let at = 1;
    let newValue: V | null = null;
    if ((flags & NEW_PRESENT) !== 0) {
      if (buf.length < at + 4) throw new RangeError('a table change is truncated');
      const length = buf.readUInt32BE(at);
      at += 4;
      if (buf.length < at + length) throw new RangeError('a table change is truncated');
      newValue = valueSerde.deserialize(buf.subarray(at, at + length));
      at += length;
    }
    if ((flags & OLD_PRESENT) === 0 && at !== buf.length) {
      throw new RangeError(`a table change has ${buf.length - at} trailing byte(s)`);
    }
    const oldValue = (flags & OLD_PRESENT) !== 0 ? valueSerde.deserialize(buf.subarray(at)) : null;
    return { newValue, oldValue };
  };
  return {
    serialize: (change: Change<V> | null) =>
      change === null || change === undefined ? null : serialize(change),
    deserialize: (data: Uint8Array | null) => (data === null ? null : deserialize(data)),
    ...prepareInner(valueSerde),
  } as DslSerde<Change<V>>;
}
