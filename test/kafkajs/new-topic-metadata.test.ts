// A new topic whose metadata the broker has not applied yet (patched kafkajs): createTopics' wait for leaders waits
// through UNKNOWN_TOPIC_OR_PARTITION, and fetchTopicOffsets refreshes and retries after NOT_LEADER_FOR_PARTITION. A
// KRaft broker answers that way right after CreateTopics under load (seen in CI). The first answer after the request
// is rewritten to that error here, so each case is deterministic; without the patch's hunks in the admin, the call
// rejects with it although the topic exists.
import { type ISocketFactory, Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { brokerList, uniqueName } from '../support/kafka.js';
import { interceptingSocketFactory } from './wire.js';

const LIST_OFFSETS = 2;
const METADATA = 3;
const CREATE_TOPICS = 19;
const UNKNOWN_TOPIC_OR_PARTITION = 3;
const NOT_LEADER_OR_FOLLOWER = 6;

/** The offset of the first topic's error code in a Metadata v3–v6 response (after size and correlation id). */
function firstTopicErrorOffset(chunk: Buffer): number {
  let at = 8 + 4; // throttle_time_ms
  const brokers = chunk.readInt32BE(at);
  at += 4;
  for (let i = 0; i < brokers; i++) {
    at += 4; // node_id
    at += 2 + chunk.readInt16BE(at); // host
    at += 4; // port
    const rack = chunk.readInt16BE(at);
    at += 2 + Math.max(rack, 0);
  }
  const clusterId = chunk.readInt16BE(at);
  at += 2 + Math.max(clusterId, 0);
  at += 4; // controller_id
  if (chunk.readInt32BE(at) < 1) throw new Error('a Metadata answer without topics');
  return at + 4;
}

/** A socketFactory that answers the first Metadata request sent after a CreateTopics with UNKNOWN_TOPIC_OR_PARTITION. */
function unknownTopicOnceSocketFactory(rewritten: number[]): ISocketFactory {
  let created = false;
  let target: number | undefined;
  return interceptingSocketFactory({
    request: (frame) => {
      const apiKey = frame.readInt16BE(4);
      if (apiKey === CREATE_TOPICS) created = true;
      else if (apiKey === METADATA && created && target === undefined && rewritten.length === 0) {
        const version = frame.readInt16BE(6);
        if (version < 3 || version > 6) throw new Error(`Metadata v${version}: the rewrite knows v3–v6`);
        target = frame.readInt32BE(8);
      }
    },
    response: (chunk) => {
      if (target === undefined || chunk.readInt32BE(4) !== target) return;
      chunk.writeInt16BE(UNKNOWN_TOPIC_OR_PARTITION, firstTopicErrorOffset(chunk));
      rewritten.push(target);
      target = undefined;
    },
  });
}

/** The offset of the first partition's error code in a ListOffsets v2–v5 response (after size and correlation id). */
function firstPartitionErrorOffset(chunk: Buffer): number {
  let at = 8 + 4; // throttle_time_ms
  if (chunk.readInt32BE(at) < 1) throw new Error('a ListOffsets answer without topics');
  at += 4;
  at += 2 + chunk.readInt16BE(at); // name
  if (chunk.readInt32BE(at) < 1) throw new Error('a ListOffsets answer without partitions');
  return at + 4 + 4; // partitions count, partition index
}

/** A socketFactory that answers the first ListOffsets request with NOT_LEADER_OR_FOLLOWER for its first partition. */
function notLeaderOnceSocketFactory(rewritten: number[]): ISocketFactory {
  let target: number | undefined;
  return interceptingSocketFactory({
    request: (frame) => {
      if (frame.readInt16BE(4) !== LIST_OFFSETS || target !== undefined || rewritten.length > 0) return;
      const version = frame.readInt16BE(6);
      if (version < 2 || version > 5) throw new Error(`ListOffsets v${version}: the rewrite knows v2–v5`);
      target = frame.readInt32BE(8);
    },
    response: (chunk) => {
      if (target === undefined || chunk.readInt32BE(4) !== target) return;
      chunk.writeInt16BE(NOT_LEADER_OR_FOLLOWER, firstPartitionErrorOffset(chunk));
      rewritten.push(target);
      target = undefined;
    },
  });
}

describe('createTopics waits for a new topic the broker does not know yet (patched kafkajs)', () => {
  const toClose: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.allSettled(toClose.splice(0).map((close) => close()));
  });

  it('resolves true with leaders for every partition after a Metadata answer of UNKNOWN_TOPIC_OR_PARTITION', async () => {
    const topic = uniqueName('create-wait');
    const rewritten: number[] = [];
    const admin = new Kafka({
      clientId: 'create-topics-wait',
      brokers: brokerList(),
      logLevel: logLevel.NOTHING,
      socketFactory: unknownTopicOnceSocketFactory(rewritten),
    }).admin();
    toClose.push(() => admin.disconnect());
    await admin.connect();

    expect(await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 3 }] })).toBe(
      true,
    );
    expect(rewritten).toHaveLength(1);
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(topics[0]?.partitions.map((p) => p.leader >= 0)).toEqual([true, true, true]);
  });

  it('fetchTopicOffsets refreshes its metadata and asks again after NOT_LEADER_FOR_PARTITION', async () => {
    const topic = uniqueName('offsets-wait');
    const setup = new Kafka({
      clientId: 'offsets-wait-setup',
      brokers: brokerList(),
      logLevel: logLevel.NOTHING,
    }).admin();
    toClose.push(() => setup.disconnect());
    await setup.connect();
    expect(await setup.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 2 }] })).toBe(
      true,
    );
    const rewritten: number[] = [];
    const admin = new Kafka({
      clientId: 'offsets-wait',
      brokers: brokerList(),
      logLevel: logLevel.NOTHING,
      retry: { initialRetryTime: 50, retries: 5 },
      socketFactory: notLeaderOnceSocketFactory(rewritten),
    }).admin();
    toClose.push(() => admin.disconnect());
    await admin.connect();

    const offsets = await admin.fetchTopicOffsets(topic);
    expect(rewritten).toHaveLength(1);
    expect(offsets.map((o) => [o.partition, o.low, o.high]).sort()).toEqual([
      [0, '0', '0'],
      [1, '0', '0'],
    ]);
  });
});
