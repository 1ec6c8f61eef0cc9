// Reads the output topics of a differential run up to their end offsets, and views an output as the last value per
// key, as the sequence of values per key, or as the sequence of timestamps per key.
import type { Kafka } from 'kafkajs';
import { uniqueName } from '../support/kafka.js';

export interface OutputRecord {
  key: string | null;
  value: string | null;
  /** The record's timestamp (ms): what each side gave its output record. */
  timestamp: number;
}

/**
 * Each topic's records, per partition in offset order (partitions one after the other), up to its end offsets.
 * The topics must hold no transaction markers (both sides write them at-least-once).
 */
export async function readTopics(
  kafka: Kafka,
  topics: string[],
  timeoutMs = 60_000,
): Promise<Map<string, OutputRecord[]>> {
  const admin = kafka.admin();
  await admin.connect();
  const remaining = new Map<string, number>();
  try {
    for (const topic of topics)
      for (const p of await admin.fetchTopicOffsets(topic))
        if (Number(p.high) > 0) remaining.set(`${topic}/${p.partition}`, Number(p.high));
  } finally {
    await admin.disconnect();
  }
  const byPartition = new Map<string, OutputRecord[]>();
  if (remaining.size > 0) {
    const consumer = kafka.consumer({ groupId: uniqueName('differential-reader') });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`reading outputs: ${[...remaining.keys()].join(', ')} not read to the end`)),
          timeoutMs,
        );
        consumer
          .run({
            eachMessage: async ({ topic, partition, message }) => {
              const at = `${topic}/${partition}`;
              const end = remaining.get(at);
              if (end === undefined || Number(message.offset) >= end) return;
              const list = byPartition.get(at) ?? [];
              list.push({
                key: message.key?.toString() ?? null,
                value: message.value?.toString() ?? null,
                timestamp: Number(message.timestamp),
              });
              byPartition.set(at, list);
              if (Number(message.offset) === end - 1) remaining.delete(at);
              if (remaining.size === 0) {
                clearTimeout(timer);
                resolve();
              }
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect();
    }
  }
  return new Map(
    topics.map((topic) => [
      topic,
      [...byPartition]
        .filter(([at]) => at.startsWith(`${topic}/`))
        .sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))
        .flatMap(([, records]) => records),
    ]),
  );
}

/** `field` of each record per key, in order, keys sorted. */
function perKey<T>(records: OutputRecord[], field: (r: OutputRecord) => T): Record<string, T[]> {
  const out = new Map<string, T[]>();
  for (const r of records) {
    const k = String(r.key);
    const list = out.get(k);
    if (list) list.push(field(r));
    else out.set(k, [field(r)]);
  }
  return Object.fromEntries([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Every value each key took, in order, keys sorted. */
export function sequences(records: OutputRecord[]): Record<string, (string | null)[]> {
  return perKey(records, (r) => r.value);
}

/** The timestamp of each record per key, in order, keys sorted (as `sequences` gives the values). */
export function timestamps(records: OutputRecord[]): Record<string, number[]> {
  return perKey(records, (r) => r.timestamp);
}

/**
 * The table an output describes: the last value of each key, keys sorted; a key whose last value is null (deleted)
 * is absent, whether or not a tombstone was written for it.
 */
export function finals(records: OutputRecord[]): Record<string, string> {
  return Object.fromEntries(
    Object.entries(sequences(records)).flatMap(([k, values]) => {
      const last = values.at(-1);
      return last === null || last === undefined ? [] : [[k, last]];
    }),
  );
}
