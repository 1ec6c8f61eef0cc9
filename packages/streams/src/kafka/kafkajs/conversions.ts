// Conversions between kafkajs messages and the port's records.

import type { IHeaders, KafkaMessage, Message, RecordMetadata } from '#kafkajs';
import type { ConsumedRecord, OutgoingRecord, RecordHeaders } from '../port.js';

export function toHeaders(headers: IHeaders | undefined): RecordHeaders {
  const out: RecordHeaders = {};
  if (!headers) return out;
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    // kafkajs decodes a header that repeats as an array; the runtime keeps the last one.
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    if (last !== undefined) out[name] = Buffer.isBuffer(last) ? last : Buffer.from(last);
  }
  return out;
}

export function toConsumed(m: KafkaMessage): ConsumedRecord {
  return {
    offset: m.offset,
    key: m.key ?? null,
    value: m.value ?? null,
    timestamp: Number(m.timestamp),
    headers: toHeaders(m.headers),
  };
}

export function toMessage(r: OutgoingRecord): Message {
  // One shape for every message (kafkajs treats an undefined field as an absent one).
  return {
    key: r.key,
    value: r.value,
    partition: r.partition,
    timestamp: r.timestamp === undefined ? undefined : String(r.timestamp),
    headers: r.headers,
  };
}

/**
 * The most record bytes one `sendBatch` carries. kafkajs writes all of a request's records of one partition as one
 * record batch, and the broker refuses a batch over the topic's `max.message.bytes` (1 MiB by default): a large
 * commit (thousands of changelog records of one task) must go in several requests.
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

/** Groups records by topic for `sendBatch`, counting those sent to an explicit partition. */
export function toTopicMessages(records: OutgoingRecord[]): {
  topicMessages: { topic: string; messages: Message[] }[];
  counted: Map<string, number>;
} {
  const byTopic = new Map<string, Message[]>();
  const counted = new Map<string, number>();
  // Records of one topic and partition come in runs (a task's output, a store's changelog): a run is looked up
  // and counted once, not per record.
  let topic: string | undefined;
  let list: Message[] = [];
  let partition: number | undefined;
  let run = 0;
  const endRun = () => {
    if (partition === undefined || run === 0) return;
    const key = `${topic}:${partition}`;
    counted.set(key, (counted.get(key) ?? 0) + run);
  };
  for (const r of records) {
    if (r.topic !== topic) {
      endRun();
      topic = r.topic;
      partition = r.partition;
      run = 0;
      const existing = byTopic.get(topic);
      if (existing === undefined) {
        list = [];
        byTopic.set(topic, list);
      } else {
        list = existing;
      }
    } else if (r.partition !== partition) {
      endRun();
      partition = r.partition;
      run = 0;
    }
    list.push(toMessage(r));
    run++;
  }
  endRun();
  return { topicMessages: [...byTopic].map(([t, messages]) => ({ topic: t, messages })), counted };
}

/** The offset of the last record per counted partition: one request per partition, so base offset + count - 1. */
export function lastOffsets(metadata: RecordMetadata[], counted: Map<string, number>): Map<string, bigint> {
  const last = new Map<string, bigint>();
  for (const m of metadata) {
    const key = `${m.topicName}:${m.partition}`;
    const n = counted.get(key);
    if (n !== undefined && m.baseOffset !== undefined) last.set(key, BigInt(m.baseOffset) + BigInt(n - 1));
  }
  return last;
}
