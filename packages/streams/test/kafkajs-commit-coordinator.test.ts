// The patched kafkajs offset commit (docs/kafkajs-patch.md): once the connection to the group coordinator is gone, the
// commit goes to the coordinator looked up again, not to the old node id, which a stopped broker left the metadata of.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const OffsetManager = require('kafkajs/src/consumer/offsetManager/index.js') as new (
  options: object,
) => { commitOffsets(offsets: object): Promise<void> };
const { KafkaJSBrokerNotFound } = require('kafkajs/src/errors.js') as {
  KafkaJSBrokerNotFound: new (message: string) => Error;
};

describe('kafkajs offset commit after the group coordinator stopped', () => {
  it('commits to the coordinator looked up again', async () => {
    const commits: number[] = [];
    const coordinator = (nodeId: number, connected: boolean) => ({
      nodeId,
      isConnected: () => connected,
      offsetCommit: async () => {
        commits.push(nodeId);
      },
    });
    const cluster = {
      // Node 1 stopped: it is no longer in the metadata; the group moved to node 3.
      findBroker: async () => {
        throw new KafkaJSBrokerNotFound('Broker 1 not found in the cached metadata');
      },
      findGroupCoordinator: async () => coordinator(3, true),
      committedOffsets: () => ({}),
    };
    const manager = new OffsetManager({
      cluster,
      coordinator: coordinator(1, false),
      memberAssignment: { orders: [0] },
      topicConfigurations: {},
      instrumentationEmitter: { emit() {} },
      groupId: 'app',
      generationId: 4,
      memberId: 'member-1',
    });
    await manager.commitOffsets({
      topics: [{ topic: 'orders', partitions: [{ partition: 0, offset: '10' }] }],
    });
    expect(commits).toEqual([3]);
  });
});
