// Splits the records of one send into requests small enough for the broker to take.

import type { OutgoingRecord } from './port.js';

/**
 * The most record bytes one send carries. kafkajs and @platformatic/kafka both write all of a request's records of
 * one partition as one record batch, and the broker refuses a batch over the topic's `max.message.bytes` (1 MiB by
 * default): a large commit (thousands of changelog records of one task) must go in several requests.
 */
export const MAX_SEND_BYTES = 900 * 1024;

/** Per-record framing in a record batch (length, attributes, deltas, counts), an upper bound. */
const RECORD_OVERHEAD_BYTES = 32;

function sizeOf(r: OutgoingRecord): number {
  let n = RECORD_OVERHEAD_BYTES + (r.key?.length ?? 0) + (r.value?.length ?? 0);
  if (r.headers) for (const name in r.headers) n += name.length + (r.headers[name]?.length ?? 0) + 4;
  return n;
}

/** Splits records, in order, into sends of at most `maxBytes` (a record larger than that is sent alone). */
export function chunkBySize(records: OutgoingRecord[], maxBytes = MAX_SEND_BYTES): OutgoingRecord[][] {
  const chunks: OutgoingRecord[][] = [];
  let chunk: OutgoingRecord[] = [];
  let bytes = 0;
  for (const r of records) {
    const size = sizeOf(r);
    if (chunk.length > 0 && bytes + size > maxBytes) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(r);
    bytes += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}
