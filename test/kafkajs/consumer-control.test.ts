// kafkajs consumer controls on Kafka 4: seek, pause/resume, and group descriptions.
import { AssignerProtocol, type Consumer } from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTopics, uniqueName, waitFor } from '../support/kafka.js';
import { ClientRegistry, fastConsumerConfig, nextGroupJoin } from './clients.js';

/** Resolves after the consumer completes its next fetch round (FETCH is emitted once per round). */
function nextFetch(consumer: Consumer): Promise<void> {
  return new Promise((resolve) => {
    const remove = consumer.on(consumer.events.FETCH, () => {
      remove();
      resolve();
    });
  });
}

describe('kafkajs consumer controls on Kafka 4', () => {
  let clients: ClientRegistry;
  beforeEach(() => {
    clients = new ClientRegistry();
  });
  afterEach(() => clients.closeAll());

  it('seek rewinds a running consumer', async () => {
    const topic = uniqueName('seek');
    await createTopics([{ topic }]);
    const producer = await clients.producer();
    await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ value: `m${i}` })) });

    const consumer = await clients.consumer(fastConsumerConfig(uniqueName('group')));
    const offsets: string[] = [];
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    expect(() => consumer.seek({ topic, partition: 0, offset: '3' })).toThrow(
      expect.objectContaining({
        name: 'KafkaJSNonRetriableError',
        message: expect.stringContaining('consumer#run must be called first'),
      }),
    );
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ message }) => {
        offsets.push(message.offset);
      },
    });
    await waitFor(() => offsets.length === 10, { timeoutMs: 15_000, what: '10 messages' });
    consumer.seek({ topic, partition: 0, offset: '3' });
    await waitFor(() => offsets.length === 17, { timeoutMs: 15_000, what: '7 messages after seek' });
    expect(offsets.slice(10)).toEqual(['3', '4', '5', '6', '7', '8', '9']);
  });

  it('pause stops one partition, resume restarts it', async () => {
    const topic = uniqueName('pause');
    await createTopics([{ topic, numPartitions: 2 }]);
    const producer = await clients.producer();
    const consumer = await clients.consumer(fastConsumerConfig(uniqueName('group')));
    const joined = nextGroupJoin(consumer);
    const seen: string[] = [];
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        seen.push(`${partition}:${message.value?.toString()}`);
      },
    });
    await joined;
    consumer.pause([{ topic, partitions: [1] }]);
    expect(consumer.paused()).toEqual([{ topic, partitions: [1] }]);

    await producer.send({ topic, messages: [{ partition: 1, value: 'p1' }] });
    await producer.send({ topic, messages: [{ partition: 0, value: 'p0' }] });
    await waitFor(() => seen.includes('0:p0'), { timeoutMs: 15_000, what: 'the partition 0 message' });
    // Two more complete fetch rounds: an unpaused partition 1 would have delivered its older record by now.
    await nextFetch(consumer);
    await nextFetch(consumer);
    expect(seen).toEqual(['0:p0']);

    consumer.resume([{ topic, partitions: [1] }]);
    expect(consumer.paused()).toEqual([]);
    await waitFor(() => seen.includes('1:p1'), {
      timeoutMs: 15_000,
      what: 'the partition 1 message after resume',
    });
    expect(seen).toEqual(['0:p0', '1:p1']);
  });

  it('describes a stable group from the consumer and the admin, and an empty one after leaving', async () => {
    const topic = uniqueName('describe');
    const groupId = uniqueName('group');
    await createTopics([{ topic, numPartitions: 2 }]);
    const consumer = await clients.consumer(fastConsumerConfig(groupId));
    const joined = nextGroupJoin(consumer);
    await consumer.subscribe({ topics: [topic] });
    await consumer.run({ eachMessage: async () => {} });
    const join = await joined;

    const description = await consumer.describeGroup();
    expect(description).toMatchObject({
      groupId,
      state: 'Stable',
      protocolType: 'consumer',
      protocol: 'RoundRobinAssigner',
    });
    expect(description.members).toHaveLength(1);
    const member = description.members[0];
    expect(member?.memberId).toBe(join.memberId);
    expect(member?.clientHost).toMatch(/127\.0\.0\.1/);
    expect(AssignerProtocol.MemberMetadata.decode(member?.memberMetadata ?? Buffer.alloc(0))?.topics).toEqual(
      [topic],
    );
    const assigned = AssignerProtocol.MemberAssignment.decode(member?.memberAssignment ?? Buffer.alloc(0));
    expect([...(assigned?.assignment[topic] ?? [])].sort()).toEqual([0, 1]);

    const admin = await clients.admin();
    const { groups } = await admin.describeGroups([groupId]);
    expect(groups[0]).toMatchObject({ groupId, state: 'Stable', errorCode: 0 });
    expect((await admin.listGroups()).groups).toContainEqual({ groupId, protocolType: 'consumer' });

    await consumer.disconnect();
    await waitFor(async () => (await admin.describeGroups([groupId])).groups[0]?.state === 'Empty', {
      timeoutMs: 10_000,
      what: 'group empty after leave',
    });
    await admin.deleteGroups([groupId]);
    expect((await admin.describeGroups([groupId])).groups[0]?.state).toBe('Dead');
  });
});
