// Committing and fetching consumer group offsets with kafkajs on Kafka 4, and resuming from them.
import type { Admin, Producer } from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTopics, uniqueName, waitFor } from '../support/kafka.js';
import { ClientRegistry, fastConsumerConfig, nextGroupJoin } from './clients.js';

describe('kafkajs offsets on Kafka 4', () => {
  let clients: ClientRegistry;
  let admin: Admin;
  beforeEach(async () => {
    clients = new ClientRegistry();
    admin = await clients.admin();
  });
  afterEach(() => clients.closeAll());

  async function committed(groupId: string, topic: string): Promise<Record<number, string>> {
    const [result] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return Object.fromEntries((result?.partitions ?? []).map((p) => [p.partition, p.offset]));
  }

  /**
   * Runs a fresh consumer of the group (no commits) and resolves once it has fetched at least once, i.e. its
   * start positions are fixed. `offsets` collects `<partition>:<offset>` of what it reads.
   */
  async function startReader(groupId: string, topic: string, fromBeginning: boolean) {
    const consumer = await clients.consumer(fastConsumerConfig(groupId));
    const offsets: string[] = [];
    const fetched = new Promise<void>((resolve) => {
      const remove = consumer.on(consumer.events.FETCH, () => {
        remove();
        resolve();
      });
    });
    await consumer.subscribe({ topics: [topic], fromBeginning });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        offsets.push(`${partition}:${message.offset}`);
      },
    });
    await fetched;
    return { consumer, offsets };
  }

  /** Reads `count` messages with a fresh consumer of the group, then disconnects it. */
  async function consumeOffsets(groupId: string, topic: string, count: number, fromBeginning = false) {
    const { consumer, offsets } = await startReader(groupId, topic, fromBeginning);
    try {
      await waitFor(() => offsets.length >= count, { timeoutMs: 15_000, what: `${count} messages` });
      return offsets.slice(0, count);
    } finally {
      await consumer.disconnect();
    }
  }

  it('commits with consumer.commitOffsets, reads back with admin.fetchOffsets, and a new consumer resumes there', async () => {
    const topic = uniqueName('commit');
    const groupId = uniqueName('group');
    await createTopics([{ topic, numPartitions: 1 }]);
    const producer = await clients.producer();
    await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ value: `m${i}` })) });

    expect(await committed(groupId, topic)).toEqual({ 0: '-1' });

    const consumer = await clients.consumer(fastConsumerConfig(groupId));
    const joined = nextGroupJoin(consumer);
    const seen: string[] = [];
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ message }) => {
        seen.push(message.offset);
      },
    });
    await joined;
    await waitFor(() => seen.length === 10, { timeoutMs: 15_000, what: '10 messages' });
    await consumer.commitOffsets([{ topic, partition: 0, offset: '4' }]);
    expect(await committed(groupId, topic)).toEqual({ 0: '4' });
    await consumer.disconnect();

    expect(await consumeOffsets(groupId, topic, 6)).toEqual(['0:4', '0:5', '0:6', '0:7', '0:8', '0:9']);
  });

  /** A 2-partition topic with offsets 0..4 on each partition. */
  async function topicWithTenMessages(): Promise<{ topic: string; producer: Producer }> {
    const topic = uniqueName('seek-group');
    await createTopics([{ topic, numPartitions: 2 }]);
    const producer = await clients.producer();
    await producer.send({
      topic,
      messages: Array.from({ length: 10 }, (_, i) => ({ partition: i % 2, value: `m${i}` })),
    });
    return { topic, producer };
  }

  // admin.setOffsets and resetOffsets each take ~5 s: kafkajs joins the group with a temporary consumer, seeks,
  // and waits for one fetch round of a paused consumer, which lasts the default maxWaitTimeInMs (5000).
  it('setOffsets moves an idle group and refuses a running one', async () => {
    const groupId = uniqueName('group');
    const { topic } = await topicWithTenMessages();

    await admin.setOffsets({
      groupId,
      topic,
      partitions: [
        { partition: 0, offset: '3' },
        { partition: 1, offset: '1' },
      ],
    });
    expect(await committed(groupId, topic)).toEqual({ 0: '3', 1: '1' });
    const resumed = await consumeOffsets(groupId, topic, 6);
    expect([...resumed].sort()).toEqual(['0:3', '0:4', '1:1', '1:2', '1:3', '1:4']);

    const running = await clients.consumer(fastConsumerConfig(groupId));
    const joined = nextGroupJoin(running);
    await running.subscribe({ topics: [topic] });
    await running.run({ autoCommit: false, eachMessage: async () => {} });
    await joined;
    await expect(
      admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '0' }] }),
    ).rejects.toMatchObject({
      name: 'KafkaJSNonRetriableError',
      message: expect.stringContaining('no running instances'),
    });
  });

  it('resetOffsets commits sentinels that the consumer resolves with its own fromBeginning', async () => {
    const groupId = uniqueName('group');
    const { topic, producer } = await topicWithTenMessages();
    await admin.resetOffsets({ groupId, topic, earliest: true });
    // kafkajs commits the sentinel -2 ("earliest") rather than a resolved offset ...
    expect(await committed(groupId, topic)).toEqual({ 0: '-2', 1: '-2' });
    // ... and a consumer treats any negative committed offset as "none": its own fromBeginning decides. With
    // fromBeginning false it starts at the end, so it reads only what is produced after its first fetch.
    const latest = await startReader(groupId, topic, false);
    await producer.send({ topic, messages: [0, 1].map((partition) => ({ partition, value: 'late' })) });
    await waitFor(() => latest.offsets.length >= 2, { timeoutMs: 15_000, what: 'the 2 late messages' });
    expect([...latest.offsets].sort()).toEqual(['0:5', '1:5']);
    await latest.consumer.disconnect();

    await admin.resetOffsets({ groupId, topic, earliest: true });
    expect([...(await consumeOffsets(groupId, topic, 12, true))].sort()).toEqual(
      [0, 1].flatMap((p) => [0, 1, 2, 3, 4, 5].map((o) => `${p}:${o}`)),
    );

    await admin.resetOffsets({ groupId, topic, earliest: false });
    expect(await committed(groupId, topic)).toEqual({ 0: '-1', 1: '-1' });
  });
});
