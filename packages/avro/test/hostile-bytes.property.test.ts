// The Avro serdes fed random and adversarial bytes for a fixed, cached schema: each either decodes or throws an
// AvroError (wrong magic byte, truncated or malformed body), in bounded time, even for block counts of billions.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

// Many runs each: generous on a loaded machine.
const slow = { timeout: 60_000 };

import { AvroSerdes } from '../src/avro-serde.js';
import { MAX_EMPTY_ITEMS } from '../src/body-bounds.js';
import { AvroError } from '../src/errors.js';
import { frame } from '../src/wire-format.js';
import { orderSchema } from './fixtures/schemas.js';
import { fixture, offlineRegistry } from './support.js';

/** A schema with every kind of block: arrays of bytes-taking and of empty items, a map, a union, a fixed. */
const blocksSchema = {
  type: 'record',
  name: 'Blocks',
  fields: [
    { name: 'ints', type: { type: 'array', items: 'int' } },
    { name: 'nulls', type: { type: 'array', items: 'null' } },
    { name: 'names', type: { type: 'map', values: 'string' } },
    { name: 'maybe', type: ['null', 'double'] },
    { name: 'id', type: { type: 'fixed', name: 'Id', size: 4 } },
  ],
};

/** A zig-zag varint of `n`, as Avro writes an int or long. */
function zigzag(n: bigint): Buffer {
  let v = n >= 0n ? n * 2n : -n * 2n - 1n;
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
}

const hugeCount = fc.constantFrom(2n ** 31n, 2n ** 40n, 2n ** 62n, -(2n ** 40n), 10n ** 7n);

function expectAvroErrorOrValue(decode: () => unknown): void {
  try {
    decode();
  } catch (err) {
    expect(err).toBeInstanceOf(AvroError);
    // SCHEMA_INCOMPATIBLE: the Order serdes given a Blocks record.
    expect(['WRONG_MAGIC_BYTE', 'TRUNCATED', 'SCHEMA_INCOMPATIBLE']).toContain((err as AvroError).code);
  }
}

describe('Avro serdes on hostile bytes', () => {
  const registry = offlineRegistry({ 4242: orderSchema, 77: blocksSchema });
  const serdes = {
    specific: AvroSerdes.specific({ registry, schema: orderSchema }),
    generic: AvroSerdes.generic({ registry, schema: orderSchema }),
    blocks: AvroSerdes.generic({ registry, schema: blocksSchema as never }),
  };
  const golden = fixture('order-4242').bytes;

  it(
    'decode or throw WRONG_MAGIC_BYTE, TRUNCATED or SCHEMA_INCOMPATIBLE for random, cut, extended and altered records',
    slow,
    () => {
      const bytes = fc.oneof(
        // Not framed (a framed record of an id the registry does not know is the registry's case, tested elsewhere).
        fc.uint8Array({ maxLength: 100 }).filter((b) => b[0] !== 0),
        fc.uint8Array({ maxLength: 100 }).map((body) => frame(4242, Buffer.from(body))),
        fc.uint8Array({ maxLength: 100 }).map((body) => frame(77, Buffer.from(body))),
        fc.nat({ max: golden.length }).map((n) => golden.subarray(0, n)),
        fc
          // A byte of the magic byte or the body (an unknown schema id is the registry's case).
          .tuple(
            fc.oneof(fc.constant(0), fc.integer({ min: 5, max: golden.length - 1 })),
            fc.integer({ min: 0, max: 255 }),
          )
          .map(([at, byte]) => {
            const out = Buffer.from(golden);
            out[at] = byte;
            return out;
          }),
      );
      fc.assert(
        fc.property(bytes, (b) => {
          for (const serde of Object.values(serdes)) expectAvroErrorOrValue(() => serde.deserialize(b));
        }),
        { numRuns: 3000 },
      );
    },
  );

  it('refuse block counts of billions at once, with no allocation for them', slow, () => {
    const started = process.hrtime.bigint();
    fc.assert(
      fc.property(
        hugeCount,
        fc.constantFrom(0, 1, 2),
        fc.uint8Array({ maxLength: 20 }),
        (count, field, tail) => {
          // The fields before `field` empty, then a block of `count` items, then a few bytes.
          const body = Buffer.concat([Buffer.alloc(field, 0), zigzag(count), Buffer.from(tail)]);
          expect(() => serdes.blocks.deserialize(frame(77, body))).toThrow(
            expect.objectContaining({ code: 'TRUNCATED' }),
          );
        },
      ),
      { numRuns: 200 },
    );
    // Each of them takes microseconds; decoding one such block item by item took seconds for 10^7 items.
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(5_000);
  });

  it('still decode large blocks that the bytes hold, and empty items up to the bound', slow, () => {
    const ints = Array.from({ length: 5000 }, (_, i) => i - 2500);
    const nulls = new Array(MAX_EMPTY_ITEMS).fill(null);
    const record = { ints, nulls, names: { a: 'b' }, maybe: 1.5, id: Buffer.from('abcd') };
    const type = serdes.blocks as unknown as { deserialize(b: Buffer): unknown };
    const body = Buffer.concat([
      zigzag(BigInt(ints.length)),
      ...ints.map((i) => zigzag(BigInt(i))),
      Buffer.of(0),
      zigzag(BigInt(nulls.length)),
      Buffer.of(0),
      zigzag(1n),
      zigzag(1n),
      Buffer.from('a'),
      zigzag(1n),
      Buffer.from('b'),
      Buffer.of(0),
      zigzag(1n),
      Buffer.from(new Float64Array([1.5]).buffer),
      Buffer.from('abcd'),
    ]);
    expect(type.deserialize(frame(77, body))).toEqual(record);
    const tooMany = Buffer.concat([Buffer.of(0), zigzag(BigInt(MAX_EMPTY_ITEMS + 1)), Buffer.of(0)]);
    expect(() => type.deserialize(frame(77, tooMany))).toThrow(
      expect.objectContaining({ code: 'TRUNCATED' }),
    );
  });
});
