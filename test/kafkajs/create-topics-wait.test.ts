// createTopics' wait for leaders waits through UNKNOWN_TOPIC_OR_PARTITION (patched kafkajs): a KRaft broker that has
// not applied a new topic's metadata yet answers that way right after CreateTopics (seen under load). The first
// Metadata answer after the CreateTopics request is rewritten to that error here, so the case is deterministic.
// Without the patch's hunk in the admin, createTopics rejects with it although the topic exists.
import { type ISocketFactory, Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { brokerList, uniqueName } from '../support/kafka.js';
import { interceptingSocketFactory } from './wire.js';

const METADATA = 3;
const CREATE_TOPICS = 19;
const UNKNOWN_TOPIC_OR_PARTITION = 3;

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
});
