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

/**
 * A record as a kafkajs message, without a copy: the patched produce encoder reads the fields a record has (`key`,
 * `value`, `partition`, `headers`) and takes a numeric `timestamp` as well as a string (docs/kafkajs-patch.md).
 */
function asMessage(r: OutgoingRecord): Message {
  return r as unknown as Message;
}

export { chunkBySize, MAX_SEND_BYTES } from '../send-chunks.js';

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
    list.push(asMessage(r));
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
