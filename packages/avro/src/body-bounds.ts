// Walks an Avro body over its writer schema before it is decoded: every array or map block count must fit in the
// bytes that are left, so a few hostile bytes cannot make the decoder loop or allocate for billions of items.
import type avro from 'avsc';
import { AvroError } from './errors.js';

/** Items of a type that takes no bytes (null, an empty record) a body may hold in all. */
export const MAX_EMPTY_ITEMS = 100_000;

interface Walk {
  buf: Buffer;
  pos: number;
  empty: number;
}

function fail(message: string): never {
  throw new AvroError('TRUNCATED', message);
}

function readLong(w: Walk): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    const byte = w.buf[w.pos++];
    if (byte === undefined) fail('the Avro body ends inside a number');
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
    scale *= 128;
  }
  return fail('a number of the Avro body is longer than 10 bytes');
}

function skip(w: Walk, n: number, what: string): void {
  if (n < 0 || w.pos + n > w.buf.length) fail(`${what} of ${n} bytes runs past the Avro body`);
  w.pos += n;
}

/** The fewest bytes a value of `type` takes. */
function minBytes(type: avro.Type, seen = new Set<avro.Type>()): number {
  const t = underlying(type);
  switch (t.typeName) {
    case 'null':
      return 0;
    case 'float':
      return 4;
    case 'double':
      return 8;
    case 'fixed':
      return (t as avro.types.FixedType).size;
    case 'record':
    case 'error': {
      // A recursive record takes at least what its other fields take; counting it once is enough for a bound.
      if (seen.has(t)) return 0;
      seen.add(t);
      let n = 0;
      for (const f of (t as avro.types.RecordType).fields) n += minBytes(f.type, seen);
      seen.delete(t);
      return n;
    }
    default:
      // boolean, int, long, enum, string, bytes, array, map and union each take at least one byte.
      return 1;
  }
}

function underlying(type: avro.Type): avro.Type {
  const logical = type as { underlyingType?: avro.Type };
  return logical.underlyingType ?? type;
}

function walk(type: avro.Type, w: Walk): void {
  const t = underlying(type);
  switch (t.typeName) {
    case 'null':
      return;
    case 'boolean':
      skip(w, 1, 'a boolean');
      return;
    case 'int':
    case 'long':
    case 'enum':
      readLong(w);
      return;
    case 'float':
      skip(w, 4, 'a float');
      return;
    case 'double':
      skip(w, 8, 'a double');
      return;
    case 'fixed':
      skip(w, (t as avro.types.FixedType).size, 'a fixed');
      return;
    case 'string':
    case 'bytes':
      skip(w, readLong(w), `a ${t.typeName} value`);
      return;
    case 'record':
    case 'error':
      for (const f of (t as avro.types.RecordType).fields) walk(f.type, w);
      return;
    case 'union:unwrapped':
    case 'union:wrapped': {
      const branches = (t as unknown as { types: avro.Type[] }).types;
      const index = readLong(w);
      const branch = branches[index];
      if (branch === undefined) fail(`union branch ${index} of ${branches.length}`);
      walk(branch, w);
      return;
    }
    case 'array':
    case 'map': {
      const items =
        t.typeName === 'array' ? (t as avro.types.ArrayType).itemsType : (t as avro.types.MapType).valuesType;
      // A map entry also has its key, a string of at least one byte.
      const each = minBytes(items) + (t.typeName === 'map' ? 1 : 0);
      for (;;) {
        let count = readLong(w);
        if (count === 0) return;
        if (count < 0) {
          count = -count;
          readLong(w);
        }
        if (each === 0) {
          w.empty += count;
          if (w.empty > MAX_EMPTY_ITEMS) fail(`the Avro body holds more than ${MAX_EMPTY_ITEMS} empty items`);
        } else if (count * each > w.buf.length - w.pos) {
          fail(
            `a block of ${count} ${t.typeName} items cannot fit in the ${w.buf.length - w.pos} bytes left`,
          );
        }
        for (let i = 0; i < count; i++) {
          if (t.typeName === 'map') skip(w, readLong(w), 'a map key');
          walk(items, w);
        }
      }
    }
    default:
      fail(`an Avro type ${t.typeName} this reader does not know`);
  }
}

/** Throws TRUNCATED unless the body at `start` has the shape of `writer` and its counts fit its bytes. */
export function checkBody(writer: avro.Type, buf: Buffer, start: number): void {
  walk(writer, { buf, pos: start, empty: 0 });
}
