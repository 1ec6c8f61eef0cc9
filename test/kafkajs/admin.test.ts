// kafkajs admin operations against the real broker: topic creation with configs, metadata, offsets, deletion.
import { type Admin, ConfigResourceTypes } from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { uniqueName, waitFor } from '../support/kafka.js';
import { ClientRegistry } from './clients.js';

describe('kafkajs admin on Kafka 4', () => {
  let clients: ClientRegistry;
  let admin: Admin;

  beforeEach(async () => {
    clients = new ClientRegistry();
    admin = await clients.admin();
  });
  afterEach(() => clients.closeAll());

  async function topicConfig(topic: string, names: string[]): Promise<Record<string, string | undefined>> {
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: names }],
    });
    const entries = resources[0]?.configEntries ?? [];
    return Object.fromEntries(entries.map((e) => [e.configName, e.configValue]));
  }

  it('creates compacted and compact,delete topics and describes their configs and partitions', async () => {
    const compacted = uniqueName('compact');
    const both = uniqueName('compact-delete');
    const created = await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: compacted, numPartitions: 3, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
        {
          topic: both,
          numPartitions: 2,
          configEntries: [
            { name: 'cleanup.policy', value: 'compact,delete' },
            { name: 'retention.ms', value: '3600000' },
          ],
        },
      ],
    });
    expect(created).toBe(true);

    expect(await topicConfig(compacted, ['cleanup.policy'])).toEqual({ 'cleanup.policy': 'compact' });
    expect(await topicConfig(both, ['cleanup.policy', 'retention.ms'])).toEqual({
      'cleanup.policy': 'compact,delete',
      'retention.ms': '3600000',
    });

    const { topics } = await admin.fetchTopicMetadata({ topics: [compacted, both] });
    const counts = Object.fromEntries(topics.map((t) => [t.name, t.partitions.length]));
    expect(counts).toEqual({ [compacted]: 3, [both]: 2 });
    expect((await admin.listTopics()).filter((t) => t === compacted || t === both).sort()).toEqual(
      [compacted, both].sort(),
    );
  });

  it('reports high and low watermarks and offsets by timestamp', async () => {
    const topic = uniqueName('offsets');
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 2 }] });
    const producer = await clients.producer();
    const t0 = Date.now() - 60_000;
    await producer.send({
      topic,
      acks: -1,
      messages: [0, 1, 2].map((i) => ({ partition: 0, value: `v${i}`, timestamp: String(t0 + i * 1000) })),
    });

    const offsets = await admin.fetchTopicOffsets(topic);
    const byPartition = Object.fromEntries(offsets.map((o) => [o.partition, o]));
    expect(byPartition[0]).toMatchObject({ offset: '3', high: '3', low: '0' });
    expect(byPartition[1]).toMatchObject({ offset: '0', high: '0', low: '0' });

    const atSecond = await admin.fetchTopicOffsetsByTimestamp(topic, t0 + 1000);
    expect(atSecond.find((o) => o.partition === 0)?.offset).toBe('1');
    const betweenRecords = await admin.fetchTopicOffsetsByTimestamp(topic, t0 + 1500);
    expect(betweenRecords.find((o) => o.partition === 0)?.offset).toBe('2');
    // A timestamp after the last record: kafkajs substitutes the high watermark for the broker's -1.
    const future = await admin.fetchTopicOffsetsByTimestamp(topic, Date.now() + 3_600_000);
    expect(Object.fromEntries(future.map((o) => [o.partition, o.offset]))).toEqual({ 0: '3', 1: '0' });
  });

  it('adds partitions to a topic', async () => {
    const topic = uniqueName('grow');
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 2 }] });
    await admin.createPartitions({ topicPartitions: [{ topic, count: 5 }] });
    const count = await waitFor(
      async () => {
        const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
        const n = topics[0]?.partitions.length;
        return n === 5 ? n : undefined;
      },
      { timeoutMs: 10_000, what: '5 partitions in metadata' },
    );
    expect(count).toBe(5);
  });

  it('deletes topics', async () => {
    const topic = uniqueName('delete-me');
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic }] });
    await admin.deleteTopics({ topics: [topic], timeout: 10_000 });
    await waitFor(async () => !(await admin.listTopics()).includes(topic), {
      timeoutMs: 10_000,
      what: 'topic gone from listTopics',
    });
    await expect(admin.fetchTopicMetadata({ topics: [topic] })).rejects.toMatchObject({
      type: 'UNKNOWN_TOPIC_OR_PARTITION',
    });
  });

  it('createTopics of an existing topic resolves false instead of throwing, even mixed with a new one', async () => {
    const existing = uniqueName('exists');
    const fresh = uniqueName('fresh');
    expect(
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic: existing, numPartitions: 2 }] }),
    ).toBe(true);
    // Different partition count: still only TOPIC_ALREADY_EXISTS, the partition count is not checked or changed.
    expect(
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic: existing, numPartitions: 4 }] }),
    ).toBe(false);
    // The broker creates `fresh`; kafkajs still answers false because every error was TOPIC_ALREADY_EXISTS.
    expect(
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic: existing }, { topic: fresh }] }),
    ).toBe(false);
    // Answering false, kafkajs did not wait for `fresh` to have leaders: its metadata may lag for a moment.
    const topics = await waitFor(
      () => admin.fetchTopicMetadata({ topics: [existing, fresh] }).then((m) => m.topics),
      { what: `the metadata of ${fresh}` },
    );
    expect(Object.fromEntries(topics.map((t) => [t.name, t.partitions.length]))).toEqual({
      [existing]: 2,
      [fresh]: 1,
    });
  });

  it('createTopics with an invalid config rejects with KafkaJSAggregateError of KafkaJSCreateTopicError', async () => {
    const topic = uniqueName('bad-config');
    const err = await admin
      .createTopics({ topics: [{ topic, configEntries: [{ name: 'cleanup.policy', value: 'bogus' }] }] })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toMatchObject({ name: 'KafkaJSAggregateError' });
    const inner = (err as { errors: unknown[] }).errors;
    expect(inner).toHaveLength(1);
    expect(inner[0]).toMatchObject({
      name: 'KafkaJSCreateTopicError',
      type: 'INVALID_CONFIG',
      code: 40,
      topic,
      retriable: false,
    });
  });
});
