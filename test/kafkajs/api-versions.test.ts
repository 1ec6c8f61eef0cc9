// Which protocol versions kafkajs negotiates with Kafka 4 (which dropped old versions, KIP-896), and that every
// request a typical client flow sends is inside the broker's supported range.
import { createRequire } from 'node:module';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { brokerList, createTopics, uniqueName, waitFor } from '../support/kafka.js';
import { ClientRegistry, fastConsumerConfig } from './clients.js';

interface VersionRange {
  minVersion: number;
  maxVersion: number;
}

// kafkajs internals (not part of its public API): the cluster object and the table of implemented requests.
const kafkajsRequire = createRequire(createRequire(import.meta.url).resolve('kafkajs'));
const Cluster = kafkajsRequire('./src/cluster');
const socketFactory = kafkajsRequire('./src/network/socketFactory');
const { createLogger, LEVELS } = kafkajsRequire('./src/loggers');
const { requests } = kafkajsRequire('./src/protocol/requests') as {
  requests: Record<string, { versions: string[] }>;
};
const apiKeys = kafkajsRequire('./src/protocol/requests/apiKeys') as Record<string, number>;

/** The ApiVersions answer of the broker, by API key. */
async function brokerVersions(): Promise<Record<number, VersionRange>> {
  const cluster = new Cluster({
    logger: createLogger({ level: LEVELS.NOTHING, logCreator: () => () => {} }),
    brokers: brokerList(),
    clientId: uniqueName('api-versions'),
    socketFactory: socketFactory(),
    connectionTimeout: 1_000,
  });
  await cluster.connect();
  try {
    return cluster.brokerPool.versions as Record<number, VersionRange>;
  } finally {
    await cluster.disconnect();
  }
}

/** What the patched kafkajs 2.2.4 picks (its highest implemented version capped by the broker's max), as observed on 4.1.1. */
const expectedNegotiated: Record<string, number> = {
  Produce: 7,
  Fetch: 11,
  ListOffsets: 3,
  Metadata: 6,
  OffsetCommit: 5,
  OffsetFetch: 4,
  GroupCoordinator: 2,
  JoinGroup: 5,
  Heartbeat: 3,
  LeaveGroup: 3,
  SyncGroup: 3,
  DescribeGroups: 2,
  ListGroups: 2,
  ApiVersions: 2,
  CreateTopics: 3,
  DeleteTopics: 1,
  DeleteRecords: 1,
  InitProducerId: 1,
  AddPartitionsToTxn: 1,
  AddOffsetsToTxn: 1,
  EndTxn: 1,
  // 3 with the project's patch (KIP-447 group metadata); unpatched kafkajs implements 0–1
  TxnOffsetCommit: 3,
  DescribeConfigs: 2,
  AlterConfigs: 1,
  CreatePartitions: 1,
  DeleteGroups: 1,
};

describe('kafkajs protocol versions on Kafka 4', () => {
  let clients: ClientRegistry;
  beforeEach(() => {
    clients = new ClientRegistry();
  });
  afterEach(() => clients.closeAll());

  it('negotiates a version the broker supports for every request kafkajs implements', async () => {
    const broker = await brokerVersions();
    const negotiated: Record<string, number> = {};
    for (const [name, definition] of Object.entries(requests)) {
      const implemented = definition.versions.map(Number);
      const key = apiKeys[name];
      const range = key === undefined ? undefined : broker[key];
      if (implemented.length === 0 || !range) continue;
      const version = Math.min(Math.max(...implemented), range.maxVersion);
      expect({ name, ok: version >= range.minVersion }).toEqual({ name, ok: true });
      negotiated[name] = version;
    }
    expect(negotiated).toMatchObject(expectedNegotiated);
  });

  it('every request of an admin, produce, consume, commit and transaction flow is in range', async () => {
    const broker = await brokerVersions();
    const sent = new Map<string, { apiKey: number; apiVersion: number }>();
    const record = (e: { payload: { apiName: string; apiKey: number; apiVersion: number } }) => {
      sent.set(`${e.payload.apiName} v${e.payload.apiVersion}`, e.payload);
    };
    const topic = uniqueName('versions');
    const groupId = uniqueName('group');
    await createTopics([{ topic }]);

    const admin = await clients.admin();
    admin.on(admin.events.REQUEST, record);
    await admin.fetchTopicMetadata({ topics: [topic] });
    await admin.fetchTopicOffsets(topic);

    const producer = clients.track(
      clients.kafka.producer({ transactionalId: uniqueName('tx'), idempotent: true, maxInFlightRequests: 1 }),
    );
    producer.on(producer.events.REQUEST, record);
    await producer.connect();
    const txn = await producer.transaction();
    await txn.send({ topic, messages: [{ value: 'v' }] });
    await txn.sendOffsets({
      consumerGroupId: groupId,
      topics: [{ topic, partitions: [{ partition: 0, offset: '0' }] }],
    });
    await txn.commit();

    const consumer = clients.track(clients.kafka.consumer(fastConsumerConfig(groupId)));
    consumer.on(consumer.events.REQUEST, record);
    await consumer.connect();
    let received = 0;
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async () => {
        received++;
      },
    });
    await waitFor(() => received === 1, { timeoutMs: 15_000, what: 'the transactional message' });
    await consumer.commitOffsets([{ topic, partition: 0, offset: '1' }]);
    await admin.fetchOffsets({ groupId, topics: [topic] });
    await consumer.disconnect();

    const names = [...sent.keys()].sort();
    for (const expected of [
      'Produce v7',
      'Fetch v11',
      'JoinGroup v5',
      'SyncGroup v3',
      'OffsetCommit v5',
      'OffsetFetch v4',
      'TxnOffsetCommit v3',
      'EndTxn v1',
      'InitProducerId v1',
      'LeaveGroup v3',
    ]) {
      expect(names).toContain(expected);
    }
    for (const [name, { apiKey, apiVersion }] of sent) {
      const range = broker[apiKey];
      expect({
        name,
        inRange: !!range && apiVersion >= range.minVersion && apiVersion <= range.maxVersion,
      }).toEqual({
        name,
        inRange: true,
      });
    }
  });
});
