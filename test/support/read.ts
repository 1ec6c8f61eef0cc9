// Reads records of a topic from the beginning with a fresh consumer group, until a count is reached.
import type { Consumer } from 'kafkajs';
import { testKafka, uniqueName } from './kafka.js';
import { firstDeliveries } from './redelivery.js';

export interface ReadRecord {
  partition: number;
  offset: string;
  key: string | null;
  value: string | null;
  timestamp: number;
  headers: Record<string, string>;
}

/**
 * Resolves with the first `count` records of `topic` (all partitions), or rejects after `timeoutMs` saying how
 * many arrived. With `settleMs`, keeps reading that long after the count is reached, to catch extra records.
 */
export async function readAll(
  topic: string,
  count: number,
  { timeoutMs = 60_000, settleMs = 0, readCommitted = false } = {},
): Promise<ReadRecord[]> {
  const consumer = testKafka().consumer({ groupId: uniqueName('reader'), readUncommitted: !readCommitted });
  const records: ReadRecord[] = [];
  const isNew = firstDeliveries(topic);
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(new Error(`read ${records.length} of ${count} records of ${topic} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const reached = () => {
        clearTimeout(timer);
        setTimeout(resolve, settleMs);
      };
      consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            if (!isNew(partition, message.offset)) return;
            const headers: Record<string, string> = {};
            for (const [k, v] of Object.entries(message.headers ?? {}))
              if (v !== undefined) headers[k] = String(v);
            records.push({
              partition,
              offset: message.offset,
              key: message.key?.toString() ?? null,
              value: message.value?.toString() ?? null,
              timestamp: Number(message.timestamp),
              headers,
            });
            if (records.length === count) reached();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return records;
}

/** A follower of a topic; `crashes` lists what made kafkajs give up on its consumer, each answered with a new one. */
export interface TopicFollower {
  readonly crashes: string[];
  stop(): Promise<void>;
}

/**
 * Calls `onRecord` for every record of `topic` from the beginning, once each, until `stop()` is awaited; `value` is
 * the value as UTF-8 text, `bytes` as it is (e.g. Avro). It survives broker outages: a kafkajs consumer gives up for
 * good on some errors after a broker restart (KafkaJSGroupCoordinatorNotFound is not retriable, so the crash says
 * `restart: false`); then a new consumer of the same group goes on from the committed offsets.
 */
export async function followTopic(
  topic: string,
  onRecord: (record: {
    key: string | null;
    value: string | null;
    bytes: Buffer | null;
    partition: number;
    offset: string;
  }) => void,
  { readCommitted = false } = {},
): Promise<TopicFollower> {
  const groupId = uniqueName('follower');
  const isNew = firstDeliveries(topic);
  const crashes: string[] = [];
  let stopped = false;
  let consumer: Consumer;

  async function start(): Promise<void> {
    const current = testKafka().consumer({
      groupId,
      readUncommitted: !readCommitted,
      retry: { retries: 1_000, maxRetryTime: 2_000 },
    });
    consumer = current;
    current.on(current.events.CRASH, ({ payload }) => {
      if (payload.restart || stopped) return;
      crashes.push(String(payload.error));
      void current
        .disconnect()
        .catch(() => undefined)
        .then(restart);
    });
    try {
      await current.connect();
      await current.subscribe({ topic, fromBeginning: true });
      await current.run({
        eachMessage: async ({ partition, message }) => {
          if (!isNew(partition, message.offset)) return;
          onRecord({
            key: message.key?.toString() ?? null,
            value: message.value?.toString() ?? null,
            bytes: message.value,
            partition,
            offset: message.offset,
          });
        },
      });
    } catch (err) {
      // A consumer that could not start (e.g. while the broker is still down) leaves no connection behind.
      await current.disconnect().catch(() => undefined);
      throw err;
    }
  }

  async function restart(): Promise<void> {
    while (!stopped) {
      try {
        return await start();
      } catch (err) {
        crashes.push(`restart failed: ${String(err)}`);
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  }

  await start();
  return {
    crashes,
    stop: () => {
      stopped = true;
      return consumer.disconnect();
    },
  };
}
