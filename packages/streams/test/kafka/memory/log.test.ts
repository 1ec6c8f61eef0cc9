// In-memory Kafka: producing, partitioning, fetching, log start and admin, as a Kafka client sees them.
import { partitionForKey } from '@eddy/assignor';
import { describe, expect, it } from 'vitest';
import { MemoryKafkaError } from '../../../src/internals.js';
import { buf, newCluster, startConsumer, values, withProducer } from './helpers.js';

describe('in-memory Kafka: partition logs and producing', () => {
  it('gives records consecutive offsets per partition from 0 and acknowledges the last offset per partition', async () => {
    const { producer, ...h } = await withProducer('t', 2);
    const last = await producer.send([
      { topic: 't', partition: 0, key: null, value: buf('a') },
      { topic: 't', partition: 1, key: null, value: buf('b') },
      { topic: 't', partition: 0, key: null, value: buf('c') },
    ]);
    expect(last).toEqual(
      new Map([
        ['t:0', 1n],
        ['t:1', 0n],
      ]),
    );
    const again = await producer.send([{ topic: 't', partition: 0, key: null, value: buf('d') }]);
    expect(again.get('t:0')).toBe(2n);
    expect(h.cluster.records('t', 0).map((r) => [r.offset, r.value?.toString()])).toEqual([
      ['0', 'a'],
      ['1', 'c'],
      ['2', 'd'],
    ]);
  });

  it('keeps the producer timestamp and headers, stamps the broker time when none is given or with LogAppendTime', async () => {
    const h = newCluster();
    h.cluster.createTopic({ topic: 'create', partitions: 1 });
    h.cluster.createTopic({
      topic: 'append',
      partitions: 1,
      config: { 'message.timestamp.type': 'LogAppendTime' },
    });
    const producer = h.factory.producer();
    await producer.connect();
    await producer.send([
      {
        topic: 'create',
        partition: 0,
        key: buf('k'),
        value: buf('v'),
        timestamp: 42,
        headers: { h: buf('x') },
      },
      { topic: 'create', partition: 0, key: null, value: null },
      { topic: 'append', partition: 0, key: null, value: buf('v'), timestamp: 42 },
    ]);
    const [first, second] = h.cluster.records('create', 0);
    expect(first).toMatchObject({ timestamp: 42, key: buf('k'), headers: { h: buf('x') } });
    expect(second).toMatchObject({ timestamp: 1_000_000, key: null, value: null });
    expect(h.cluster.records('append', 0)[0]!.timestamp).toBe(1_000_000);
  });

  it('copies record bytes: mutating a sent Buffer afterwards does not change the log, as with a real broker', async () => {
    const { producer, ...h } = await withProducer('t', 1);
    const value = buf('abc');
    await producer.send([{ topic: 't', partition: 0, key: null, value }]);
    value.write('xyz');
    expect(values(h.cluster.records('t', 0))).toEqual(['abc']);
  });

  it('partitions keyed records by murmur2 of the key like the Java client (Kafka Utils.murmur2 vectors)', async () => {
    const { producer, ...h } = await withProducer('t', 7);
    // murmur2('21') = -973932308, murmur2('foobar') = -790332482, murmur2('abc') = 479470107 (Kafka's test vectors).
    const expected = {
      '21': (-973932308 & 0x7fffffff) % 7,
      foobar: (-790332482 & 0x7fffffff) % 7,
      abc: 479470107 % 7,
    };
    await producer.send(Object.keys(expected).map((k) => ({ topic: 't', key: buf(k), value: buf(k) })));
    for (const [key, partition] of Object.entries(expected)) {
      expect(partitionForKey(buf(key), 7)).toBe(partition);
      expect(values(h.cluster.records('t', partition))).toContain(key);
    }
  });

  it('spreads records without a key round robin over the partitions', async () => {
    const { producer, ...h } = await withProducer('t', 3);
    await producer.send(
      Array.from({ length: 6 }, (_, i) => ({ topic: 't', key: null, value: buf(String(i)) })),
    );
    expect([0, 1, 2].map((p) => h.cluster.records('t', p).length)).toEqual([2, 2, 2]);
  });

  it('fails a send to a missing topic or partition with UNKNOWN_TOPIC_OR_PARTITION and writes none of it', async () => {
    const { producer, ...h } = await withProducer('t', 1);
    await expect(
      producer.send([
        { topic: 't', partition: 0, key: null, value: buf('a') },
        { topic: 't', partition: 5, key: null, value: buf('b') },
      ]),
    ).rejects.toMatchObject({ type: 'UNKNOWN_TOPIC_OR_PARTITION', retriable: true });
    await expect(producer.send([{ topic: 'nope', key: null, value: null }])).rejects.toBeInstanceOf(
      MemoryKafkaError,
    );
    expect(h.cluster.records('t', 0)).toEqual([]);
  });

  it('refuses calls before connect and after close; close is idempotent', async () => {
    const h = newCluster();
    h.cluster.createTopic({ topic: 't', partitions: 1 });
    const producer = h.factory.producer();
    await expect(producer.send([{ topic: 't', key: null, value: null }])).rejects.toThrow(/not connected/);
    await producer.connect();
    expect(h.cluster.openClients()).toEqual(['producer:producer']);
    await producer.close();
    await producer.close();
    await expect(producer.send([{ topic: 't', key: null, value: null }])).rejects.toThrow(/closed/);
    expect(h.cluster.openClients()).toEqual([]);
  });
});

describe('in-memory Kafka: log start and admin', () => {
  it('DeleteRecords moves the log start: partitionOffsets reports it, and a consumer positioned below it resets', async () => {
    const { producer, ...h } = await withProducer('t', 1);
    await producer.send(
      ['a', 'b', 'c', 'd'].map((v) => ({ topic: 't', partition: 0, key: null, value: buf(v) })),
    );
    h.cluster.deleteRecords('t', 0, 2n);
    h.cluster.deleteRecords('t', 0, 1n); // never moves back
    const admin = h.factory.admin();
    await admin.connect();
    expect(await admin.partitionOffsets('t')).toEqual([{ partition: 0, low: 2n, high: 4n }]);
    expect(() => h.cluster.deleteRecords('t', 0, 5n)).toThrow(
      expect.objectContaining({ type: 'OFFSET_OUT_OF_RANGE' }),
    );
    const c = await startConsumer(h, ['t']);
    await h.cluster.settle();
    expect(values(c.records)).toEqual(['c', 'd']);
    expect(c.records[0]!.offset).toBe('2');
    await c.consumer.close();
  });

  it('admin deleteRecords moves the log start of each partition; -1 means the log end, beyond it is OFFSET_OUT_OF_RANGE', async () => {
    const { producer, ...h } = await withProducer('t', 2);
    await producer.send(['a', 'b', 'c'].map((v) => ({ topic: 't', partition: 0, key: null, value: buf(v) })));
    await producer.send([{ topic: 't', partition: 1, key: null, value: buf('x') }]);
    const admin = h.factory.admin();
    await admin.connect();
    await expect(
      admin.deleteRecords('t', [
        { partition: 0, offset: '1' },
        { partition: 1, offset: '2' },
      ]),
    ).rejects.toMatchObject({ type: 'OFFSET_OUT_OF_RANGE' });
    expect((await admin.partitionOffsets('t')).map((o) => o.low)).toEqual([0n, 0n]);
    await admin.deleteRecords('t', [
      { partition: 0, offset: '2' },
      { partition: 1, offset: '-1' },
    ]);
    expect(await admin.partitionOffsets('t')).toEqual([
      { partition: 0, low: 2n, high: 3n },
      { partition: 1, low: 1n, high: 1n },
    ]);
    expect(values(h.cluster.records('t', 0))).toEqual(['c']);
    await admin.close();
  });

  it('createTopics validates specs as the broker does and leaves an existing topic alone without an error', async () => {
    const h = newCluster();
    const admin = h.factory.admin();
    await admin.connect();
    await admin.createTopics([{ topic: 't', partitions: 3, config: { 'cleanup.policy': 'compact' } }]);
    await admin.createTopics([{ topic: 't', partitions: 5 }]);
    expect(await admin.partitionCounts(['t', 'missing'])).toEqual(new Map([['t', 3]]));
    expect(h.cluster.topicConfig('t')).toEqual({ 'cleanup.policy': 'compact' });
    const invalid: [Parameters<typeof admin.createTopics>[0][number], string][] = [
      [{ topic: 'bad name', partitions: 1 }, 'INVALID_TOPIC_EXCEPTION'],
      [{ topic: 'p', partitions: 0 }, 'INVALID_PARTITIONS'],
      [{ topic: 'r', partitions: 1, replicationFactor: 3 }, 'INVALID_REPLICATION_FACTOR'],
      [{ topic: 'c', partitions: 1, config: { 'no.such.config': '1' } }, 'INVALID_CONFIG'],
      [{ topic: 'c', partitions: 1, config: { 'retention.ms': 'soon' } }, 'INVALID_CONFIG'],
    ];
    for (const [spec, type] of invalid)
      await expect(admin.createTopics([spec])).rejects.toMatchObject({ type });
    // A request with one invalid spec creates none of them.
    await expect(
      admin.createTopics([
        { topic: 'ok', partitions: 1 },
        { topic: 'bad', partitions: -1 },
      ]),
    ).rejects.toMatchObject({ type: 'INVALID_PARTITIONS' });
    expect(h.cluster.hasTopic('ok')).toBe(false);
    await expect(admin.partitionOffsets('missing')).rejects.toMatchObject({
      type: 'UNKNOWN_TOPIC_OR_PARTITION',
    });
    await admin.close();
  });
});
