// The patched kafkajs send (docs/kafkajs-patch.md): after a leader moved mid-send, the retry writes every partition
// not yet acknowledged, exactly once, even when its new leader already answered for other partitions of the send.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
type Message = { key: string; value: string };
type TopicData = { topic: string; partitions: { partition: number; messages: Message[] }[] }[];
type Send = (args: {
  acks: number;
  timeout: number;
  topicMessages: { topic: string; messages: Message[] }[];
}) => Promise<{ topicName: string; partition: number; baseOffset: string }[]>;
const sendMessages = require('kafkajs/src/producer/sendMessages.js') as (deps: object) => Send;
const createRetry = require('kafkajs/src/retry/index.js') as (options: object) => unknown;
const { createErrorFromCode } = require('kafkajs/src/protocol/error.js') as {
  createErrorFromCode(code: number): Error;
};
const NOT_LEADER = 6;

/**
 * Partitions 0 and 1 of `orders`, led by nodes 1 and 2. Node 2's first produce answers NOT_LEADER and hands partition 1
 * to node 1 (a leader election); `written` records each partition's messages as the brokers take them.
 */
function cluster() {
  const leaders = new Map([
    [0, 1],
    [1, 2],
  ]);
  const written = new Map<number, string[]>();
  let refusals = 1;
  const broker = (nodeId: number) => ({
    nodeId,
    produce: async ({ topicData }: { topicData: TopicData }) => {
      const partitions = topicData[0]!.partitions;
      if (nodeId === 2 && refusals-- > 0) {
        leaders.set(1, 1);
        throw createErrorFromCode(NOT_LEADER);
      }
      for (const p of partitions) {
        written.set(p.partition, [...(written.get(p.partition) ?? []), ...p.messages.map((m) => m.key)]);
      }
      return {
        topics: [
          {
            topicName: 'orders',
            partitions: partitions.map((p) => ({ partition: p.partition, errorCode: 0, baseOffset: '0' })),
          },
        ],
      };
    },
  });
  const brokers = new Map([1, 2].map((id) => [id, broker(id)]));
  const fake = {
    targetTopics: new Set<string>(),
    refreshMetadataIfNecessary: async () => {},
    refreshMetadata: async () => {},
    addMultipleTargetTopics: async () => {},
    isConnected: () => true,
    findTopicPartitionMetadata: () => [...leaders].map(([partitionId, leader]) => ({ partitionId, leader })),
    findLeaderForPartitions: (_topic: string, partitions: string[]) => {
      const result: Record<number, number[]> = {};
      for (const p of partitions.map(Number)) {
        const leader = leaders.get(p)!;
        result[leader] = [...(result[leader] ?? []), p];
      }
      return result;
    },
    findBroker: async ({ nodeId }: { nodeId: string }) => brokers.get(Number(nodeId)),
  };
  return { fake, written };
}

const eosManager = {
  isTransactional: () => false,
  acquireBrokerLock: async () => {},
  releaseBrokerLock: async () => {},
  getSequence: () => 0,
  updateSequence: () => {},
  getProducerId: () => -1,
  getProducerEpoch: () => 0,
};
const logger = { debug() {}, info() {}, warn() {}, error() {} };

describe('kafkajs send after a leader moved', () => {
  it('writes the moved partition to the leader that already answered for another one', async () => {
    const { fake, written } = cluster();
    const send = sendMessages({
      logger,
      cluster: fake,
      eosManager,
      partitioner: ({ message }: { message: Message }) => Number(message.value),
      retrier: createRetry({ retries: 3, initialRetryTime: 1, maxRetryTime: 1 }),
    });
    const messages = [
      { key: 'a', value: '0' },
      { key: 'b', value: '1' },
      { key: 'c', value: '1' },
    ];
    const acks = await send({ acks: -1, timeout: 1000, topicMessages: [{ topic: 'orders', messages }] });
    expect(written).toEqual(
      new Map([
        [0, ['a']],
        [1, ['b', 'c']],
      ]),
    );
    expect(acks.map((a) => a.partition).sort()).toEqual([0, 1]);
  });
});
