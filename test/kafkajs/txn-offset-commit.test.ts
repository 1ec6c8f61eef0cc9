// Generation-aware transactional offset commits (KIP-447) with the patched kafkajs: `sendOffsets` with the
// consumer's group metadata sends TxnOffsetCommit v3 carrying generation, member id and instance id, and the
// coordinator refuses a commit from a stale generation or a removed member, so the aborted transaction's output
// never becomes visible to read_committed readers.
import { type ConsumerGroupJoinEvent, Kafka, logLevel, type Producer } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { brokerList, createTopics, uniqueName } from '../support/kafka.js';
import { ClientRegistry, fastConsumerConfig, nextGroupJoin } from './clients.js';
import { FrameReader, recordingSocketFactory } from './wire.js';

const TXN_OFFSET_COMMIT = 28;

function decodeTxnOffsetCommitV3(frame: Buffer) {
  const r = new FrameReader(frame, { flexible: true });
  const apiVersion = r.apiVersion;
  const transactionalId = r.compactString();
  const groupId = r.compactString();
  r.int64(); // producer id
  r.int16(); // producer epoch
  const generationId = r.int32();
  const memberId = r.compactString();
  const groupInstanceId = r.compactString();
  const topics = Array.from({ length: r.uvarint() - 1 }, () => {
    const topic = r.compactString();
    const partitions = Array.from({ length: r.uvarint() - 1 }, () => {
      const partition = r.int32();
      const offset = r.int64().toString();
      const leaderEpoch = r.int32();
      const metadata = r.compactString();
      r.uvarint();
      return { partition, offset, leaderEpoch, metadata };
    });
    r.uvarint();
    return { topic, partitions };
  });
  return { apiVersion, transactionalId, groupId, generationId, memberId, groupInstanceId, topics };
}

type Join = ConsumerGroupJoinEvent['payload'];

describe('TxnOffsetCommit v3 with group metadata (patched kafkajs)', () => {
  let clients: ClientRegistry;
  afterEach(() => clients.closeAll());

  /** A member of `groupId` on `topic`, joined and running; resolves with its join. */
  async function member(groupId: string, topic: string, groupInstanceId?: string): Promise<Join> {
    const consumer = await clients.consumer(
      fastConsumerConfig(groupId, groupInstanceId === undefined ? {} : { groupInstanceId }),
    );
    const joined = nextGroupJoin(consumer);
    await consumer.subscribe({ topics: [topic] });
    await consumer.run({ eachMessage: async () => {} });
    return joined;
  }

  async function transactionalProducer(frames: Buffer[] = []): Promise<Producer> {
    const kafka = new Kafka({
      clientId: uniqueName('txn-v3'),
      brokers: brokerList(),
      logLevel: logLevel.NOTHING,
      socketFactory: recordingSocketFactory(new Map([[TXN_OFFSET_COMMIT, frames]])),
    });
    const producer = clients.track(
      kafka.producer({ transactionalId: uniqueName('txn'), idempotent: true, maxInFlightRequests: 1 }),
    );
    await producer.connect();
    return producer;
  }

  async function committedOffset(groupId: string, topic: string): Promise<string | undefined> {
    const admin = await clients.admin();
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return offsets?.partitions.find((p) => p.partition === 0)?.offset;
  }

  it('sends v3 with the generation, member id and instance id, and commits', async () => {
    clients = new ClientRegistry();
    const input = uniqueName('txn-v3-in');
    const output = uniqueName('txn-v3-out');
    const groupId = uniqueName('txn-v3-group');
    await createTopics([{ topic: input }, { topic: output }]);
    const join = await member(groupId, input, 'pod-0');
    const frames: Buffer[] = [];
    const producer = await transactionalProducer(frames);

    const txn = await producer.transaction();
    await txn.send({ topic: output, messages: [{ value: 'committed' }] });
    await txn.sendOffsets({
      consumerGroupId: groupId,
      consumerGroupMetadata: {
        generationId: join.generationId,
        memberId: join.memberId,
        groupInstanceId: 'pod-0',
      },
      topics: [{ topic: input, partitions: [{ partition: 0, offset: '5' }] }],
    });
    await txn.commit();

    expect(frames.map(decodeTxnOffsetCommitV3)).toEqual([
      {
        apiVersion: 3,
        transactionalId: expect.any(String),
        groupId,
        generationId: join.generationId,
        memberId: join.memberId,
        groupInstanceId: 'pod-0',
        topics: [
          { topic: input, partitions: [{ partition: 0, offset: '5', leaderEpoch: -1, metadata: null }] },
        ],
      },
    ]);
    expect(await committedOffset(groupId, input)).toBe('5');
    expect(await clients.readUntil(output, 'committed')).toEqual(['committed']);
  });

  it('without group metadata sends v3 with generation -1 and no member, which the coordinator accepts', async () => {
    clients = new ClientRegistry();
    const input = uniqueName('txn-v3-in');
    const groupId = uniqueName('txn-v3-group');
    await createTopics([{ topic: input }]);
    await member(groupId, input);
    const frames: Buffer[] = [];
    const producer = await transactionalProducer(frames);
    const txn = await producer.transaction();
    await txn.sendOffsets({
      consumerGroupId: groupId,
      topics: [{ topic: input, partitions: [{ partition: 0, offset: '3' }] }],
    });
    await txn.commit();
    expect(frames.map(decodeTxnOffsetCommitV3)).toMatchObject([
      { apiVersion: 3, generationId: -1, memberId: '', groupInstanceId: null },
    ]);
    expect(await committedOffset(groupId, input)).toBe('3');
  });

  it.each([
    {
      refusal: 'ILLEGAL_GENERATION',
      stale: (old: Join, current: Join) => ({ generationId: old.generationId, memberId: current.memberId }),
    },
    {
      refusal: 'UNKNOWN_MEMBER_ID',
      stale: (old: Join) => ({ generationId: old.generationId, memberId: old.memberId }),
    },
  ])(
    'refuses a commit from a stale member with $refusal; the aborted output stays invisible',
    async ({ refusal, stale }) => {
      clients = new ClientRegistry();
      const input = uniqueName('txn-v3-in');
      const output = uniqueName('txn-v3-out');
      const groupId = uniqueName('txn-v3-group');
      await createTopics([{ topic: input }, { topic: output }]);

      // The first member leaves; the group moves on to a new generation with a second member.
      const consumer = await clients.consumer(fastConsumerConfig(groupId));
      const firstJoin = nextGroupJoin(consumer);
      await consumer.subscribe({ topics: [input] });
      await consumer.run({ eachMessage: async () => {} });
      const old = await firstJoin;
      await consumer.disconnect();
      const current = await member(groupId, input);
      expect(current.generationId).toBeGreaterThan(old.generationId);

      const producer = await transactionalProducer();
      const txn = await producer.transaction();
      await txn.send({ topic: output, messages: [{ value: 'from-a-zombie' }] });
      const error = await txn
        .sendOffsets({
          consumerGroupId: groupId,
          consumerGroupMetadata: stale(old, current),
          topics: [{ topic: input, partitions: [{ partition: 0, offset: '7' }] }],
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toMatchObject({ type: refusal, retriable: false });
      await txn.abort();

      expect(await committedOffset(groupId, input)).toBe('-1');
      const next = await producer.transaction();
      await next.send({ topic: output, messages: [{ value: 'marker' }] });
      await next.commit();
      expect(await clients.readUntil(output, 'marker')).toEqual(['marker']);
    },
  );
});
