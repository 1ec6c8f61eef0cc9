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
) => { readVarInt(): number; readVarLong(): { toString(): string } };
const Long = require('kafkajs/src/utils/long.js') as { fromNumber(n: number): unknown };
const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (r: object) => Encoder;
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

function uvarintLength(n: number): number {
  return uvarint(n * 2).length;
}
