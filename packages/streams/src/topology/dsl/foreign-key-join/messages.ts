// What a foreign-key join sends between its tables: subscriptions (left → right, keyed by the foreign key) and
// responses (right → left, keyed by the left key), their wire formats, and the hash that marks a left value.
import { createHash } from 'node:crypto';
import type { DslSerde } from '../serdes.js';

/** What the right side does with a subscription. */
export const Instruction = {
  /** Forget the subscription (the left row moved to another foreign key, lost it, or was deleted); no response. */
  UNSUBSCRIBE: 0,
  /** Record the subscription and respond with the right value, or with no value when there is none. */
  SUBSCRIBE: 1,
} as const;
export type Instruction = (typeof Instruction)[keyof typeof Instruction];

export interface Subscription<K> {
  /** Hash of the left value that subscribed; null in the unsubscription of a deleted row. */
  hash: Buffer | null;
  instruction: Instruction;
  primaryKey: K;
  /** The partition of the left row, where the response must go. */
  partition: number;
}

export interface Response<VO> {
  /** The hash of the subscription it answers: the left side drops it unless its current value still has it. */
  hash: Buffer | null;
  /** The right value; null: none. */
  foreignValue: VO | null;
  partition: number;
}

const HASH_BYTES = 16;
const VERSION = 0;
const HAS_HASH = 1;
const HAS_VALUE = 2;

/** Identifies a left value by its serialized bytes (not for security: a stale response must not match by chance). */
export function valueHash(bytes: Uint8Array): Buffer {
  return createHash('sha256').update(bytes).digest().subarray(0, HASH_BYTES);
}

export function sameHash(a: Buffer | null, b: Buffer | null): boolean {
  return a === null || b === null ? a === b : a.equals(b);
}

/** Throws unless `b` starts with a header of this version whose flags are known, with the hash it announces. */
function checkFormat(
  b: Buffer,
  what: string,
  headerBytes: number,
  flagsAt: number,
  knownFlags: number,
): void {
  const flags = b[flagsAt] ?? 0;
  const hashed = (flags & HAS_HASH) !== 0;
  if (
    b.byteLength < headerBytes + (hashed ? HASH_BYTES : 0) ||
    b[0] !== VERSION ||
    (flags & ~knownFlags) !== 0 ||
    b.readInt32BE(headerBytes - 4) < 0
  ) {
    throw new Error(
      `a foreign-key join ${what} of an unknown format (version ${b[0]}, ${b.byteLength} bytes)`,
    );
  }
}

/** Header: version, instruction, flags, partition (int32); then the hash if any; then the primary key's bytes. */
export function subscriptionSerde<K>(primaryKeySerde: DslSerde<K>): DslSerde<Subscription<K>> {
  return {
    serialize(s: Subscription<K> | null) {
      if (s === null) return null;
      const pk = primaryKeySerde.serialize(s.primaryKey);
      const head = Buffer.alloc(7);
      head[0] = VERSION;
      head[1] = s.instruction;
      head[2] = s.hash === null ? 0 : HAS_HASH;
      head.writeInt32BE(s.partition, 3);
      return Buffer.concat(s.hash === null ? [head, pk] : [head, s.hash, pk]);
    },
    deserialize(bytes: Uint8Array | null) {
      if (bytes === null) return null;
      const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      checkFormat(b, 'subscription', 7, 2, HAS_HASH);
      if (b[1] !== Instruction.SUBSCRIBE && b[1] !== Instruction.UNSUBSCRIBE) {
        throw new Error(`a foreign-key join subscription with unknown instruction ${b[1]}`);
      }
      const hashed = (b[2]! & HAS_HASH) !== 0;
      const at = hashed ? 7 + HASH_BYTES : 7;
      return {
        instruction: b[1] as Instruction,
        partition: b.readInt32BE(3),
        hash: hashed ? Buffer.from(b.subarray(7, at)) : null,
        primaryKey: primaryKeySerde.deserialize(b.subarray(at)),
      };
    },
  } as DslSerde<Subscription<K>>;
}

/** Header: version, flags, partition (int32); then the hash if any; then the right value's bytes if any. */
export function responseSerde<VO>(foreignValueSerde: DslSerde<VO>): DslSerde<Response<VO>> {
  return {
    serialize(r: Response<VO> | null) {
      if (r === null) return null;
      const head = Buffer.alloc(6);
      head[0] = VERSION;
      head[1] = (r.hash === null ? 0 : HAS_HASH) | (r.foreignValue === null ? 0 : HAS_VALUE);
      head.writeInt32BE(r.partition, 2);
      const parts: Uint8Array[] = [head];
      if (r.hash !== null) parts.push(r.hash);
      if (r.foreignValue !== null) parts.push(foreignValueSerde.serialize(r.foreignValue));
      return Buffer.concat(parts);
    },
    deserialize(bytes: Uint8Array | null) {
      if (bytes === null) return null;
      const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      checkFormat(b, 'response', 6, 1, HAS_HASH | HAS_VALUE);
      if ((b[1]! & HAS_VALUE) === 0 && b.byteLength !== (b[1]! & HAS_HASH ? 6 + HASH_BYTES : 6)) {
        throw new Error('a foreign-key join response without a value has trailing bytes');
      }
      const hashed = (b[1]! & HAS_HASH) !== 0;
      const at = hashed ? 6 + HASH_BYTES : 6;
      return {
        partition: b.readInt32BE(2),
        hash: hashed ? Buffer.from(b.subarray(6, at)) : null,
        foreignValue: (b[1]! & HAS_VALUE) !== 0 ? foreignValueSerde.deserialize(b.subarray(at)) : null,
      };
    },
  } as DslSerde<Response<VO>>;
}
