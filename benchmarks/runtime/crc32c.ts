// runtime.crc32c.*: the patched kafkajs CRC-32C of record batches (eight bytes a step, docs/kafkajs-patch.md) against
// the byte-at-a-time table loop kafkajs shipped, on the same 64 KiB buffer, as a ratio in the same run (mitata).
// Run on its own: `node --import tsx --conditions=eddy-source benchmarks/runtime/crc32c.ts`.
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { bench, do_not_optimize, run } from 'mitata';
import { avgNs, type Figure, writeResults } from '../support/results.js';

const require = createRequire(import.meta.url);
const patched = require('kafkajs/src/protocol/recordBatch/crc32C/crc32C.js') as (b: Buffer) => number;

/** kafkajs's table (reflected polynomial 0x82f63b78), built here instead of copied. */
const TABLE = new Int32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  TABLE[n] = c;
}

/** The unpatched loop: one byte a step. */
function byteAtATime(buffer: Buffer): number {
  let crc = -1;
  for (let i = 0; i < buffer.length; i++) crc = TABLE[(crc ^ buffer[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}

export async function crc32cFigures(): Promise<Figure[]> {
  const buffer = randomBytes(64 * 1024);
  if (patched(buffer) !== byteAtATime(buffer)) throw new Error('the two CRC-32C loops disagree');
  bench('byte-at-a-time', () => do_not_optimize(byteAtATime(buffer)));
  bench('patched', () => do_not_optimize(patched(buffer)));
  const { benchmarks } = await run({ format: 'quiet' });
  const base = avgNs(benchmarks, 'byte-at-a-time');
  const fast = avgNs(benchmarks, 'patched');
  const perMiB = (ns: number) => Math.round((ns * 16) / 1000) / 1000;
  return [
    { name: 'runtime.crc32c.byte-at-a-time-ms-per-mib', value: perMiB(base), unit: 'ms' },
    { name: 'runtime.crc32c.patched-ms-per-mib', value: perMiB(fast), unit: 'ms' },
    {
      name: 'runtime.crc32c.patched.ratio-vs-byte-at-a-time',
      value: Math.round((fast / base) * 1000) / 1000,
      unit: 'x',
    },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await writeResults('runtime', await crc32cFigures());
}
