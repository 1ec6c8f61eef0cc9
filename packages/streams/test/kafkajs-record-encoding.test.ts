// The patched kafkajs record encoding (docs/kafkajs-patch.md): varints written in place, varlongs of safe integers
// without Long objects, one encoder per record. The bytes must be those kafkajs wrote before.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
type Encoder = {
  writeVarLong(v: unknown): Encoder;
  writeVarInt(v: number): Encoder;
  writeUVarInt(v: number): Encoder;
  buffer: Buffer;
};
type EncoderClass = { new (size?: number): Encoder; sizeOfVarLong(v: unknown): number };
const Encoder = require('kafkajs/src/protocol/encoder.js') as EncoderClass;
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (
  b: Buffer,
) => {
  readVarInt(): number;
  readVarLong(): { toString(): string };
  readVarLongNumber(): number | undefined;
  offset: number;
};
const Long = require('kafkajs/src/utils/long.js') as { fromNumber(n: number): unknown };
const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (r: object) => Encoder;
const RecordModule = Record as unknown as {
  encodeInto(encoder: Encoder, fields: object, cache: Map<object, Buffer>): Encoder;
};
const decodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0/decoder.js') as (
  d: unknown,
  context: object,
) => {
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, unknown>;
  offset: string;
  timestamp: string;
};

/** LEB128 of the low 32 bits, the wire form of kafkajs' unsigned varint. */
function uvarint(value: number): number[] {
  let v = value >>> 0;
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
}

const longs = [
  0,
  1,
  -1,
  63,
  -64,
  64,
  -65,
  8191,
  8192,
  2 ** 31 - 1,
  -(2 ** 31),
  2 ** 31,
  1_733_000_000_000,
  -1_733_000_000_000,
  2 ** 50,
  -(2 ** 50),
  2 ** 51 - 1,
  -(2 ** 51) + 1,
];

describe('patched kafkajs encoder', () => {
  it('writes and sizes a varlong of a safe integer as the Long path does', () => {
    for (const v of longs) {
      const fast = new Encoder().writeVarLong(v).buffer;
      const viaLong = new Encoder().writeVarLong(Long.fromNumber(v)).buffer;
      expect(fast, String(v)).toEqual(viaLong);
      expect(Encoder.sizeOfVarLong(v), String(v)).toBe(fast.length);
      expect(Encoder.sizeOfVarLong(Long.fromNumber(v)), String(v)).toBe(fast.length);
      expect(new Decoder(fast).readVarLong().toString()).toBe(String(v));
    }
  });

  it('reads a varlong as a number when it is small enough, and leaves longer ones to the Long path', () => {
    for (const v of longs) {
      const bytes = new Encoder().writeVarLong(v).buffer;
      const decoder = new Decoder(bytes);
      const n = decoder.readVarLongNumber();
      if (Math.abs(v) < 2 ** 48) {
        expect(n, String(v)).toBe(v);
        expect(decoder.offset).toBe(bytes.length);
      } else {
        expect(n, String(v)).toBeUndefined();
        expect(decoder.offset).toBe(0);
        expect(decoder.readVarLong().toString()).toBe(String(v));
      }
    }
  });

  it('decodes offsets and timestamps past 2^53 with Long arithmetic', () => {
    const cases = [
      { firstOffset: '9007199254740990', firstTimestamp: '5000', delta: 5, ts: 2 ** 50 },
      { firstOffset: '100', firstTimestamp: '9007199254740991', delta: 1, ts: 3 },
      { firstOffset: '0', firstTimestamp: '-1', delta: 0, ts: 0 },
    ];
    const sum = (a: string, b: number) => (BigInt(a) + BigInt(b)).toString();
    for (const c of cases) {
      const bytes = Record({ key: 'k', value: 'v', offsetDelta: c.delta, timestampDelta: c.ts }).buffer;
      const decoder = new Decoder(bytes);
      decoder.readVarInt();
      const r = decodeRecord(decoder, {
        firstOffset: c.firstOffset,
        firstTimestamp: c.firstTimestamp,
        magicByte: 2,
      });
      expect(r.offset).toBe(sum(c.firstOffset, c.delta));
      expect(r.timestamp).toBe(sum(c.firstTimestamp, c.ts));
    }
  });

  it('writes varints in place, several in a row across a buffer growth', () => {
    const values = [0, 1, 127, 128, 16_383, 16_384, 2 ** 28, -1, -(2 ** 31), 2 ** 31 - 1];
    const encoder = new Encoder(1);
    for (const v of values) encoder.writeUVarInt(v);
    expect([...encoder.buffer]).toEqual(values.flatMap(uvarint));
    const zigzag = new Encoder(1);
    for (const v of values) zigzag.writeVarInt(v);
    const decoder = new Decoder(zigzag.buffer);
    expect(values.map(() => decoder.readVarInt())).toEqual(values);
  });

  it('encodes a record with headers that the record decoder reads back', () => {
    const cases = [
      { key: Buffer.from('k'), value: Buffer.from('v'.repeat(300)), headers: {} },
      { key: 'word-1', value: '42', headers: { 'eddy.src': Buffer.from([0, 1, 2, 255]) } },
      { key: null, value: null, headers: { a: 'x', b: [Buffer.from('1'), Buffer.from('22')] } },
      { key: Buffer.alloc(0), value: Buffer.alloc(70_000, 7), headers: undefined },
    ];
    for (const [i, c] of cases.entries()) {
      const bytes = Record({ ...c, offsetDelta: i, timestampDelta: 1_000 * i }).buffer;
      const decoder = new Decoder(bytes);
      const length = decoder.readVarInt();
      expect(length).toBe(bytes.length - uvarintLength(length));
      const r = decodeRecord(decoder, { firstOffset: '100', firstTimestamp: '5000', magicByte: 2 });
      expect(r.offset).toBe(String(100 + i));
      expect(r.timestamp).toBe(String(5000 + 1_000 * i));
      expect(r.key).toEqual(c.key === null ? null : Buffer.from(c.key));
      expect(r.value).toEqual(c.value === null ? null : Buffer.from(c.value));
      const expected: Record<string, unknown> = {};
      for (const [name, v] of Object.entries(c.headers ?? {})) {
        expected[name] = Array.isArray(v) ? v : Buffer.from(v);
      }
      expect(r.headers).toEqual(expected);
    }
  });
});

type Decoded = {
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, unknown>;
  timestamp: string;
};
const produceV3 = require('kafkajs/src/protocol/requests/produce/v3/request.js') as (r: object) => {
  encode(): Promise<Encoder>;
};
const decodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (
  d: unknown,
) => Promise<{ firstTimestamp: string; maxTimestamp: string; lastOffsetDelta: number; records: Decoded[] }>;
const { Types: Compression } = require('kafkajs/src/protocol/message/compression/index.js') as {
  Types: { None: number; GZIP: number };
};
type FullDecoder = {
  readString(): string;
  readInt16(): number;
  readInt32(): number;
};

/** Encodes one partition's messages as a produce request and decodes its record batch back. */
async function roundTrip(messages: object[], compression: number) {
  const request = produceV3({
    acks: -1,
    timeout: 30_000,
    compression,
    topicData: [{ topic: 't', partitions: [{ partition: 3, firstSequence: 0, messages }] }],
  });
  const decoder = new Decoder((await request.encode()).buffer) as unknown as FullDecoder;
  decoder.readString(); // transactional id
  decoder.readInt16(); // acks
  decoder.readInt32(); // timeout
  expect(decoder.readInt32()).toBe(1); // topics
  expect(decoder.readString()).toBe('t');
  expect(decoder.readInt32()).toBe(1); // partitions
  expect(decoder.readInt32()).toBe(3);
  decoder.readInt32(); // record set size
  return decodeBatch(decoder);
}

describe('patched kafkajs produce request', () => {
  const shared = { 'eddy.src': Buffer.from([9, 8, 7]) };
  const messages = [
    { key: Buffer.from('a'), value: Buffer.from('1'), timestamp: '1700000000500', headers: shared },
    { key: 'b', value: 'two', timestamp: '1700000000100', headers: shared },
    { key: null, value: null, timestamp: '1700000000900', headers: {} },
    { key: 'd', value: Buffer.alloc(5_000, 1), timestamp: '999', headers: { x: [Buffer.from('1'), 'y'] } },
    { key: 'e', value: 'v', headers: shared },
    // The adapter hands its records over as they are, timestamps as numbers.
    {
      key: Buffer.from('f'),
      value: Buffer.from('6'),
      timestamp: 1_700_000_000_200,
      partition: 3,
      headers: shared,
    },
  ];

  for (const [name, compression] of [
    ['uncompressed', Compression.None],
    ['gzip', Compression.GZIP],
  ] as const) {
    it(`writes every record of a partition into one batch that decodes back (${name})`, async () => {
      const before = Date.now();
      const batch = await roundTrip(messages, compression);
      expect(batch.lastOffsetDelta).toBe(messages.length - 1);
      // The lowest and highest timestamps as numbers ('999' sorted as a string would come last).
      expect(batch.firstTimestamp).toBe('999');
      expect(batch.maxTimestamp).toBe('1700000000900');
      expect(batch.records.map((r) => r.key?.toString() ?? null)).toEqual(['a', 'b', null, 'd', 'e', 'f']);
      expect(batch.records.map((r) => r.value?.length ?? null)).toEqual([1, 3, null, 5_000, 1, 1]);
      expect(batch.records[5]!.timestamp).toBe('1700000000200');
      expect(batch.records.slice(0, 4).map((r) => r.timestamp)).toEqual([
        '1700000000500',
        '1700000000100',
        '1700000000900',
        '999',
      ]);
      // A record without a timestamp gets the time of the send.
      expect(Number(batch.records[4]!.timestamp)).toBeGreaterThanOrEqual(before);
      expect(batch.records[0]!.headers).toEqual(shared);
      expect(batch.records[1]!.headers).toEqual(shared);
      expect(batch.records[2]!.headers).toEqual({});
      expect(batch.records[3]!.headers).toEqual({ x: [Buffer.from('1'), Buffer.from('y')] });
      expect(batch.records[4]!.headers).toEqual(shared);
    });
  }

  it('encodes a headers object anew in the next request after it changed', async () => {
    const headers: Record<string, Buffer> = { h: Buffer.from('first') };
    const first = await roundTrip([{ key: 'k', value: 'v', headers }], Compression.None);
    headers.h = Buffer.from('second');
    headers.g = Buffer.from('more');
    const second = await roundTrip([{ key: 'k', value: 'v', headers }], Compression.None);
    expect(first.records[0]!.headers).toEqual({ h: Buffer.from('first') });
    expect(second.records[0]!.headers).toEqual({ h: Buffer.from('second'), g: Buffer.from('more') });
  });

  it('writes the same record bytes as one encoder per record did', () => {
    const records = new Encoder(1);
    const cache = new Map();
    const single: Buffer[] = [];
    for (const [i, m] of messages.entries()) {
      const fields = {
        key: m.key,
        value: m.value,
        headers: m.headers,
        offsetDelta: i,
        timestampDelta: 7 * i,
      };
      RecordModule.encodeInto(records, fields, cache);
      single.push(Record(fields).buffer);
    }
    expect(records.buffer).toEqual(Buffer.concat(single));
  });
});

function uvarintLength(n: number): number {
  return uvarint(n * 2).length;
}
