// kafkajs produce (sendBatch, GZIP, idempotent, acks -1) and eachBatch consumption with manual offsets on Kafka 4.
import { CompressionTypes, type IHeaders, type KafkaMessage } from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTopics, uniqueName, waitFor } from '../support/kafka.js';
import { ClientRegistry, fastConsumerConfig } from './clients.js';

interface Received {
  topic: string;
  partition: number;
  message: KafkaMessage;
}

function headerText(headers: IHeaders | undefined, name: string): string | string[] | undefined {
  const value = headers?.[name];
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return value.map((v) => v.toString());
  return value.toString();
}

describe('kafkajs produce and eachBatch consume on Kafka 4', () => {
  let clients: ClientRegistry;
  beforeEach(() => {
    clients = new ClientRegistry();
  });
  afterEach(() => clients.closeAll());

  it('round-trips keys, headers, timestamps and order through sendBatch (GZIP, idempotent, acks -1)', async () => {
    const topicA = uniqueName('batch-a');
    const topicB = uniqueName('batch-b');
    const groupId = uniqueName('group');
    await createTopics([
      { topic: topicA, numPartitions: 3 },
      { topic: topicB, numPartitions: 2 },
    ]);

    const producer = await clients.producer({ idempotent: true, maxInFlightRequests: 1 });
    const baseTs = Date.now() - 10_000;
    const keys = ['k0', 'k1', 'k2', 'k3'];
    const messagesFor = (topic: string) =>
      Array.from({ length: 40 }, (_, i) => ({
        key: keys[i % keys.length] ?? null,
        value: `${topic}:${i}`,
        timestamp: String(baseTs + i),
        headers: { seq: String(i), bin: Buffer.from([0, 255, i]), multi: ['x', 'y'] },
      }));
    const metadata = await producer.sendBatch({
      acks: -1,
      compression: CompressionTypes.GZIP,
      topicMessages: [
        { topic: topicA, messages: messagesFor(topicA) },
        { topic: topicB, messages: messagesFor(topicB) },
      ],
    });
    expect(metadata.every((m) => m.errorCode === 0)).toBe(true);
    expect(new Set(metadata.map((m) => m.topicName))).toEqual(new Set([topicA, topicB]));

    const consumer = await clients.consumer(fastConsumerConfig(groupId));
    await consumer.subscribe({ topics: [topicA, topicB], fromBeginning: true });
    const admin = await clients.admin();
    const received: Received[] = [];
    // Per batch: the committed offset after commitOffsetsIfNecessary() and after passing offsets, and the expected one.
    const commits: { withoutArgs?: string; withOffsets?: string; expected: string }[] = [];
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary, uncommittedOffsets }) => {
        for (const message of batch.messages) {
          received.push({ topic: batch.topic, partition: batch.partition, message });
          resolveOffset(message.offset);
        }
        // With autoCommit off and no autoCommitInterval/Threshold, the no-argument form commits nothing.
        await commitOffsetsIfNecessary();
        const committed = async () => {
          const [offsets] = await admin.fetchOffsets({ groupId, topics: [batch.topic] });
          return offsets?.partitions.find((p) => p.partition === batch.partition)?.offset;
        };
        const withoutArgs = await committed();
        // Passing the resolved offsets commits them.
        await commitOffsetsIfNecessary(uncommittedOffsets());
        commits.push({
          withoutArgs,
          withOffsets: await committed(),
          expected: String(Number(batch.lastOffset()) + 1),
        });
      },
    });

    await waitFor(() => received.length === 80, { timeoutMs: 20_000, what: '80 messages' });
    expect(commits.length).toBeGreaterThan(0);
    for (const c of commits)
      expect(c).toEqual({ withoutArgs: '-1', withOffsets: c.expected, expected: c.expected });

    for (const topic of [topicA, topicB]) {
      const sent = messagesFor(topic);
      const got = received.filter((r) => r.topic === topic);
      expect(got.map((r) => r.message.value?.toString()).sort()).toEqual(sent.map((m) => m.value).sort());
      // Same key, same partition; within a partition, send order = offset order.
      const partitionOfKey = new Map<string, number>();
      for (const r of got) {
        const key = r.message.key?.toString() ?? '';
        expect(partitionOfKey.get(key) ?? r.partition).toBe(r.partition);
        partitionOfKey.set(key, r.partition);
        const i = Number(r.message.value?.toString().split(':')[1]);
        expect(key).toBe(keys[i % keys.length]);
        expect(r.message.timestamp).toBe(String(baseTs + i));
        expect(headerText(r.message.headers, 'seq')).toBe(String(i));
        expect(r.message.headers?.bin).toEqual(Buffer.from([0, 255, i]));
        // A header name sent twice comes back as an array, in order.
        expect(headerText(r.message.headers, 'multi')).toEqual(['x', 'y']);
      }
      const byPartition = new Map<number, Received[]>();
      for (const r of got) byPartition.set(r.partition, [...(byPartition.get(r.partition) ?? []), r]);
      for (const list of byPartition.values()) {
        const seqs = list.map((r) => Number(headerText(r.message.headers, 'seq')));
        expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
        const offsets = list.map((r) => Number(r.message.offset));
        expect(offsets).toEqual(offsets.map((_, i) => i));
      }
    }
  });
});
