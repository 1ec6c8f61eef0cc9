// Every serde and internal codec fed random and adversarial bytes: it decodes them or throws an Error (which the
// runtime reports as DESERIALIZATION_FAILED); a binary codec that decodes bytes writes the same bytes back, so it
// never reads a malformed value as some other value; valid values round-trip.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

// Many runs each: generous on a loaded machine.
const slow = { timeout: 60_000 };

import type { DslSerde, StoreSerde } from '../../src/index.js';
import { Serdes, WindowedSerdes } from '../../src/index.js';
import { changeSerde } from '../../src/topology/dsl/change-serde.js';
import {
  responseSerde,
  subscriptionSerde,
  valueHash,
} from '../../src/topology/dsl/foreign-key-join/messages.js';
import { bufferValueSerde, timedListSerde } from '../../src/topology/dsl/joins/join-codecs.js';
import { valueAndTimestampSerde } from '../../src/topology/dsl/value-and-timestamp.js';

/** Random bytes, and the shapes that break parsers: empty, one byte, huge length prefixes, bad UTF-8. */
const hostileBytes = (valid?: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> => {
  const shapes: fc.Arbitrary<Uint8Array>[] = [
    fc.uint8Array({ maxLength: 200 }),
    fc.constantFrom(
      Buffer.alloc(0),
      Buffer.of(0),
      Buffer.of(0xff),
      Buffer.of(0xc3, 0x28),
      Buffer.of(0xed, 0xa0, 0x80),
      Buffer.of(0xff, 0xff, 0xff, 0xff),
      Buffer.of(0x7f, 0xff, 0xff, 0xff, 0x00),
    ),
    // A tag byte, then a length or count of 2^31 or 2^32 - 1, then a few bytes.
    fc
      .tuple(
        fc.integer({ min: 0, max: 3 }),
        fc.constantFrom(0x80000000, 0xffffffff, 0x7fffffff),
        fc.uint8Array({ maxLength: 30 }),
      )
      .map(([tag, n, rest]) => {
        const head = Buffer.alloc(5);
        head[0] = tag;
        head.writeUInt32BE(n, 1);
        return Buffer.concat([head, rest]);
      }),
  ];
  if (valid !== undefined) {
    shapes.push(
      fc.tuple(valid, fc.nat()).map(([b, n]) => b.subarray(0, n % (b.length + 1))),
      fc.tuple(valid, fc.uint8Array({ minLength: 1, maxLength: 9 })).map(([b, t]) => Buffer.concat([b, t])),
      // A NaN other than the one Node writes, where a double may be.
      fc
        .tuple(valid, fc.nat())
        .filter(([b]) => b.length >= 8)
        .map(([b, at]) => {
          const out = Buffer.from(b);
          out.writeBigUInt64BE(0x7ff8000000000001n, at % (out.length - 7));
          return out;
        }),
      fc
        .tuple(valid, fc.nat(), fc.integer({ min: 0, max: 255 }))
        .filter(([b]) => b.length > 0)
        .map(([b, at, byte]) => {
          const out = Buffer.from(b);
          out[at % out.length] = byte;
          return out;
        }),
    );
  }
  return fc.oneof(...shapes);
};

/** Decodes `bytes`: undefined when it threw an Error; anything else thrown fails the property. */
function tryDecode<T>(decode: (b: Uint8Array) => T, bytes: Uint8Array): { value: T } | undefined {
  try {
    return { value: decode(bytes) };
  } catch (err) {
    expect(err).toBeInstanceOf(Error);
    return undefined;
  }
}

interface Codec<T> {
  name: string;
  serde: StoreSerde<T>;
  values: fc.Arbitrary<T>;
  /** Whether bytes that decode are exactly the bytes of the value they decode to (a strict binary layout). */
  canonical: boolean;
}

const bytesArb = fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b));
const timeArb = fc.integer({ min: 0, max: 2 ** 50 });
const finiteArb = fc.double({ noNaN: true });
const ident = Serdes.bytes() as StoreSerde<Buffer> & DslSerde<Buffer>;

const codecs: Codec<unknown>[] = [
  { name: 'Serdes.string', serde: Serdes.string(), values: fc.string(), canonical: false },
  { name: 'Serdes.bytes', serde: ident, values: bytesArb, canonical: true },
  {
    name: 'Serdes.json',
    serde: Serdes.json(),
    values: fc.jsonValue().filter((v) => v !== null),
    canonical: false,
  },
  { name: 'Serdes.float64', serde: Serdes.float64(), values: finiteArb, canonical: false },
  {
    name: 'WindowedSerdes.timeWindowed',
    serde: WindowedSerdes.timeWindowed(ident, 60_000),
    values: fc.record({
      key: bytesArb,
      window: timeArb.map((start) => ({ start, end: start + 60_000 })),
    }),
    canonical: true,
  },
  {
    name: 'WindowedSerdes.sessionWindowed',
    serde: WindowedSerdes.sessionWindowed(ident),
    values: fc.record({
      key: bytesArb,
      window: fc.tuple(timeArb, timeArb).map(([a, b]) => ({ start: Math.min(a, b), end: Math.max(a, b) })),
    }),
    canonical: true,
  },
  {
    name: 'valueAndTimestampSerde',
    serde: valueAndTimestampSerde(ident),
    values: fc.record({ value: bytesArb, timestamp: timeArb }),
    canonical: true,
  },
  {
    name: 'changeSerde',
    serde: changeSerde(ident),
    values: fc.record({ newValue: fc.option(bytesArb), oldValue: fc.option(bytesArb) }),
    canonical: true,
  },
  {
    name: 'timedListSerde',
    serde: timedListSerde(ident),
    values: fc.array(fc.record({ ts: timeArb, value: bytesArb }), { maxLength: 5 }),
    canonical: true,
  },
  {
    name: 'bufferValueSerde',
    serde: bufferValueSerde(ident, ident, ident) as StoreSerde<unknown>,
    values: fc.oneof(
      fc.record({ index: fc.record({ buckets: fc.array(timeArb, { maxLength: 5 }) }) }),
      fc.record({
        times: fc.record({
          streamTime: timeArb,
          minTime: timeArb,
          observedLeft: timeArb,
          observedRight: timeArb,
        }),
      }),
      fc.record({
        entries: fc.array(
          bytesArb.chain((key) =>
            fc.record({
              left: fc.boolean(),
              key: fc.constant(key),
              keyBytes: fc.constant(key),
              ts: timeArb,
              value: bytesArb,
            }),
          ),
          { maxLength: 4 },
        ),
      }),
    ),
    canonical: true,
  },
  {
    name: 'foreign-key subscription',
    serde: subscriptionSerde(ident) as unknown as StoreSerde<unknown>,
    values: fc.record({
      hash: fc.option(bytesArb.map((b) => valueHash(b))),
      instruction: fc.constantFrom(0, 1),
      primaryKey: bytesArb,
      partition: fc.nat({ max: 0x7fffffff }),
    }),
    canonical: true,
  },
  {
    name: 'foreign-key response',
    serde: responseSerde(ident) as unknown as StoreSerde<unknown>,
    values: fc.record({
      hash: fc.option(bytesArb.map((b) => valueHash(b))),
      foreignValue: fc.option(bytesArb),
      partition: fc.nat({ max: 0x7fffffff }),
    }),
    canonical: true,
  },
];

describe.each(codecs)('$name', ({ serde, values, canonical }) => {
  const encode = (v: unknown) => Buffer.from(serde.serialize(v));
  const decode = (b: Uint8Array) => serde.deserialize(b);

  it('round-trips valid values', slow, () => {
    fc.assert(
      fc.property(values, (v) => {
        const bytes = encode(v);
        expect(encode(decode(bytes))).toEqual(bytes);
      }),
    );
  });

  it('decodes hostile bytes or throws an Error; what decodes is what those bytes encode', slow, () => {
    fc.assert(
      fc.property(hostileBytes(values.map(encode)), (bytes) => {
        const got = tryDecode(decode, bytes);
        if (got !== undefined && canonical) expect(encode(got.value)).toEqual(Buffer.from(bytes));
      }),
      { numRuns: 1000 },
    );
  });
});
