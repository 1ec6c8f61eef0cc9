// The kafkajs producers split a large send into requests the broker accepts (its max.message.bytes is per batch).
import { describe, expect, it } from 'vitest';
import { chunkBySize, MAX_SEND_BYTES } from '../src/kafka/kafkajs/conversions.js';
import type { OutgoingRecord } from '../src/kafka/port.js';

const record = (i: number, bytes: number): OutgoingRecord => ({
  topic: 't',
  partition: 0,
  key: Buffer.from(`k${i}`),
  value: Buffer.alloc(bytes),
  headers: { 'eddy.src': Buffer.alloc(40) },
});

describe('chunkBySize', () => {
  it('keeps records in order, each chunk under the bound; a record over it goes alone', () => {
    const records = Array.from({ length: 5_000 }, (_, i) => record(i, 600));
    const chunks = chunkBySize(records);
    expect(chunks.length).toBeGreaterThan(3);
    expect(chunks.flat()).toEqual(records);
    for (const c of chunks) {
      const bytes = c.reduce((n, r) => n + (r.value?.length ?? 0) + (r.key?.length ?? 0) + 40, 0);
      expect(bytes).toBeLessThanOrEqual(MAX_SEND_BYTES);
    }
    const huge = record(0, 2 * MAX_SEND_BYTES);
    expect(chunkBySize([record(1, 10), huge, record(2, 10)]).map((c) => c.length)).toEqual([1, 1, 1]);
    expect(chunkBySize([])).toEqual([]);
  });
});
