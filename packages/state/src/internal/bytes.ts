// Byte helpers shared by engines and layers: ordering, map keys, bounds.

const latin1Slice = Buffer.prototype.latin1Slice as (this: Uint8Array, start: number, end: number) => string;

/** Lexicographic byte order, the order every scan follows. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

/** A string that identifies the bytes exactly, usable as a Map key (one char per byte). */
export function mapKey(bytes: Uint8Array): string {
  return latin1Slice.call(bytes, 0, bytes.length);
}

/** The smallest byte string greater than every string starting with `prefix`; undefined if none exists. */
export function prefixUpperBound(prefix: Uint8Array): Uint8Array | undefined {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i] !== 0xff) {
      const bound = Uint8Array.prototype.slice.call(prefix, 0, i + 1);
      bound[i] = prefix[i]! + 1;
      return bound;
    }
  }
  return undefined;
}

/** Key bounds of a scan. `gte`/`lte`/`lt` may be combined; absent means unbounded. */
export interface KeyBounds {
  gte?: Uint8Array | undefined;
  lte?: Uint8Array | undefined;
  lt?: Uint8Array | undefined;
}

export function inBounds(key: Uint8Array, bounds: KeyBounds): boolean {
  if (bounds.gte !== undefined && compareBytes(key, bounds.gte) < 0) return false;
  if (bounds.lte !== undefined && compareBytes(key, bounds.lte) > 0) return false;
  if (bounds.lt !== undefined && compareBytes(key, bounds.lt) >= 0) return false;
  return true;
}

/** Bounds of all keys starting with `prefix`. */
export function prefixBounds(prefix: Uint8Array): KeyBounds {
  return { gte: prefix, lt: prefixUpperBound(prefix) };
}

/** Typed arrays up to this size keep their bytes on the V8 heap; a view of their `.buffer` first moves them off it. */
const ON_HEAP_MAX_BYTES = 64;

/**
 * The bytes as a Buffer, without copying where that is cheap. A small plain Uint8Array is copied: wrapping its
 * `.buffer` (or handing it to native code) costs far more (~1 µs) than a copy into Node's buffer pool.
 */
export function toBuffer(bytes: Uint8Array): Buffer {
  if (Buffer.isBuffer(bytes)) return bytes;
  const length = bytes.length;
  if (length > ON_HEAP_MAX_BYTES) return Buffer.from(bytes.buffer, bytes.byteOffset, length);
  // A byte loop beats `Buffer.from(bytes)` and `set` at these sizes (they pay for generic argument handling).
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = bytes[i]!;
  return out;
}

export function concatBytes(a: Uint8Array, b: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(a.length + b.length);
  copyInto(out, a, 0);
  copyInto(out, b, a.length);
  return out;
}

function copyInto(out: Buffer, bytes: Uint8Array, at: number): void {
  if (bytes.length > ON_HEAP_MAX_BYTES) out.set(bytes, at);
  else for (let i = 0; i < bytes.length; i++) out[at + i] = bytes[i]!;
}
