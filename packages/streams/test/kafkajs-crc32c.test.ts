// The patched kafkajs CRC-32C of record batches (docs/kafkajs-patch.md): eight bytes a step, the checksum of the
// bitwise definition for every length and alignment.
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const crc32C = require('kafkajs/src/protocol/recordBatch/crc32C/crc32C.js') as (b: Buffer) => number;

/** CRC-32C (Castagnoli, reflected polynomial 0x82f63b78) a bit at a time. */
function reference(bytes: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

describe('kafkajs crc32C', () => {
  it('gives the standard check value', () => {
    expect(crc32C(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32C(Buffer.alloc(0))).toBe(0);
  });

  it('agrees with the bitwise definition for every length up to 64 and at every offset in a buffer', () => {
    const pool = randomBytes(4096);
    for (let length = 0; length <= 64; length++) {
      for (let offset = 0; offset < 8; offset++) {
        const bytes = pool.subarray(offset, offset + length);
        expect(crc32C(bytes), `length ${length}, offset ${offset}`).toBe(reference(bytes));
      }
    }
    const large = randomBytes(100_003);
    expect(crc32C(large)).toBe(reference(large));
    expect(crc32C(Buffer.alloc(1000, 0xff))).toBe(reference(Buffer.alloc(1000, 0xff)));
  });
});
