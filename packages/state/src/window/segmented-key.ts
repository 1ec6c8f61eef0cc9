// Order-preserving keys of time-bounded stores: segment (u64) · key length (u32) · key · times (u64 each), big-endian.
import { StateStoreError } from '../errors.js';
import { type KeyBounds, prefixUpperBound } from '../internal/bytes.js';

export interface SegmentedKey {
  segment: number;
  key: Uint8Array;
  times: number[];
}

const SEGMENT_BYTES = 8;
const LENGTH_BYTES = 4;
const TIME_BYTES = 8;

export function assertTime(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new StateStoreError(
      'INVALID_ARGUMENT',
      `${name} must be a non-negative safe integer, got ${value}`,
    );
  }
}

export function segmentOf(time: number, segmentIntervalMs: number): number {
  return Math.floor(time / segmentIntervalMs);
}

export function encodeSegmentedKey(segment: number, key: Uint8Array, times: readonly number[]): Buffer {
  const out = Buffer.allocUnsafe(SEGMENT_BYTES + LENGTH_BYTES + key.length + TIME_BYTES * times.length);
  out.writeBigUInt64BE(BigInt(segment), 0);
  out.writeUInt32BE(key.length, SEGMENT_BYTES);
  out.set(key, SEGMENT_BYTES + LENGTH_BYTES);
  let at = SEGMENT_BYTES + LENGTH_BYTES + key.length;
  for (const time of times) {
    out.writeBigUInt64BE(BigInt(time), at);
    at += TIME_BYTES;
  }
  return out;
}

export function decodeSegmentedKey(bytes: Uint8Array, timeCount: number): SegmentedKey {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const segment = Number(buf.readBigUInt64BE(0));
  const keyLength = buf.readUInt32BE(SEGMENT_BYTES);
  const keyStart = SEGMENT_BYTES + LENGTH_BYTES;
  const key = buf.subarray(keyStart, keyStart + keyLength);
  const times: number[] = [];
  let at = keyStart + keyLength;
  for (let i = 0; i < timeCount; i++) {
    times.push(Number(buf.readBigUInt64BE(at)));
    at += TIME_BYTES;
  }
  return { segment, key, times };
}

/** All keys of one segment. */
export function segmentBounds(fromSegment: number, toSegmentExclusive?: number): KeyBounds {
  return {
    gte: segmentPrefix(fromSegment),
    lt: toSegmentExclusive === undefined ? undefined : segmentPrefix(toSegmentExclusive),
  };
}

/** Keys of `key` in `segment` whose first time is within [from, to]. */
export function keyTimeBounds(segment: number, key: Uint8Array, from: number, to: number): KeyBounds {
  const prefix = encodeSegmentedKey(segment, key, []);
  return {
    gte: encodeSegmentedKey(segment, key, [from]),
    lt:
      to === Number.MAX_SAFE_INTEGER ? prefixUpperBound(prefix) : encodeSegmentedKey(segment, key, [to + 1]),
  };
}

function segmentPrefix(segment: number): Buffer {
  const out = Buffer.allocUnsafe(SEGMENT_BYTES);
  out.writeBigUInt64BE(BigInt(segment), 0);
  return out;
}
