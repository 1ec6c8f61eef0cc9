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

const TWO_TO_32 = 2 ** 32;

/** A non-negative safe integer as 8 big-endian bytes, without going through a BigInt (this is on every access). */
function writeU64(out: Buffer, value: number, at: number): void {
  out.writeUInt32BE(Math.floor(value / TWO_TO_32), at);
  out.writeUInt32BE(value >>> 0, at + 4);
}

function readU64(buf: Buffer, at: number): number {
  return buf.readUInt32BE(at) * TWO_TO_32 + buf.readUInt32BE(at + 4);
}

export function segmentOf(time: number, segmentIntervalMs: number): number {
  return Math.floor(time / segmentIntervalMs);
}

export function encodeSegmentedKey(segment: number, key: Uint8Array, times: readonly number[]): Buffer {
  const out = Buffer.allocUnsafe(SEGMENT_BYTES + LENGTH_BYTES + key.length + TIME_BYTES * times.length);
  writeU64(out, segment, 0);
  out.writeUInt32BE(key.length, SEGMENT_BYTES);
  out.set(key, SEGMENT_BYTES + LENGTH_BYTES);
  let at = SEGMENT_BYTES + LENGTH_BYTES + key.length;
  for (const time of times) {
    writeU64(out, time, at);
    at += TIME_BYTES;
  }
  return out;
}

export function decodeSegmentedKey(bytes: Uint8Array, timeCount: number): SegmentedKey {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const segment = readU64(buf, 0);
  const keyLength = buf.readUInt32BE(SEGMENT_BYTES);
  const keyStart = SEGMENT_BYTES + LENGTH_BYTES;
  const key = buf.subarray(keyStart, keyStart + keyLength);
  const times: number[] = [];
  let at = keyStart + keyLength;
  for (let i = 0; i < timeCount; i++) {
    times.push(readU64(buf, at));
    at += TIME_BYTES;
  }
  return { segment, key, times };
}

/**
 * Why `bytes` cannot be a key of a store with `timeCount` times whose segment follows its first time, or undefined
 * when it can be.
 */
export function segmentedKeyProblem(
  bytes: Uint8Array,
  timeCount: number,
  segmentIntervalMs: number,
): string | undefined {
  const fixed = SEGMENT_BYTES + LENGTH_BYTES + TIME_BYTES * timeCount;
  if (bytes.length < fixed)
    return `a key of ${bytes.length} bytes is shorter than the ${fixed} bytes of its layout`;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const keyLength = buf.readUInt32BE(SEGMENT_BYTES);
  if (bytes.length !== fixed + keyLength) {
    return `a key of ${bytes.length} bytes announces ${keyLength} key bytes, which needs ${fixed + keyLength}`;
  }
  const { segment, times } = decodeSegmentedKey(bytes, timeCount);
  for (const time of times) if (!Number.isSafeInteger(time)) return `a time of ${time} is out of range`;
  if (segment !== segmentOf(times[0]!, segmentIntervalMs)) {
    return `segment ${segment} is not the segment of time ${times[0]}`;
  }
  return undefined;
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
  writeU64(out, segment, 0);
  return out;
}
