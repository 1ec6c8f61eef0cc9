// In-memory Kafka: the changelog reader reads exact ranges without a group, read_committed.
import { describe, expect, it } from 'vitest';
import { MemoryKafkaCluster, memoryClientFactory } from '../../../src/internals.js';
import type { ChangelogRange, ConsumedRecord } from '../../../src/kafka/port.js';
import { buf, deferred, newCluster, values, withProducer } from './helpers.js';

async function read(
  reader: {
    read: (
      r: ChangelogRange[],
      f: (r: ChangelogRange, x: ConsumedRecord[]) => Promise<void>,
    ) => Promise<void>;
  },
  ranges: ChangelogRange[],
) {
  const got: string[] = [];
  const batches: number[] = [];
  await reader.read(ranges, async (range, records) => {
    batches.push(records.length);
    got.push(...records.map((r) => `${range.partition}@${r.offset}=${r.value?.toString()}`));
  });
  return { got, batches };
}

describe('in-memory Kafka: changelog reader', () => {
  it('reads exactly [start, end) of each range in batches, and empty ranges not at all', async () => {
    const cluster = new MemoryKafkaCluster({ maxBatchRecords: 2 });
    const factory = memoryClientFactory(cluster);
    cluster.createTopic({ topic: 'cl', partitions: 2 });
    const producer = factory.producer();
    await producer.connect();
    await producer.send(
      ['a', 'b', 'c', 'd', 'e'].map((v) => ({ topic: 'cl', partition: 0, key: buf(v), value: buf(v) })),
    );
    const reader = factory.changelogReader('restore');
    const { got, batches } = await read(reader, [
      { topic: 'cl', partition: 0, startOffset: 1n, endOffset: 4n },
      { topic: 'cl', partition: 1, startOffset: 0n, endOffset: 0n },
    ]);
    expect(got).toEqual(['0@1=b', '0@2=c', '0@3=d']);
    expect(batches).toEqual([2, 1]);
    expect(cluster.describeGroup('restore').members).toEqual([]);
    await reader.close();
    await reader.close();
  });

  it('sees only committed records, and waits at the last stable offset until the open transaction ends', async () => {
    const h = newCluster();
    h.cluster.createTopic({ topic: 'cl', partitions: 1 });
    const p = h.factory.transactionalProducer('t');
    await p.connect();
    await p.commitTransaction([{ topic: 'cl', partition: 0, key: null, value: buf('committed') }], 'g', []);
    h.cluster.faults.failNext('transaction', 'REQUEST_TIMED_OUT');
    await p
      .commitTransaction([{ topic: 'cl', partition: 0, key: null, value: buf('aborted') }], 'g', [])
      .catch(() => undefined);
    const release = deferred();
    h.cluster.faults.delayNext('transaction', release.promise);
    const open = p.commitTransaction([{ topic: 'cl', partition: 0, key: null, value: buf('late') }], 'g', []);
    const reader = h.factory.changelogReader('restore');
    let done = false;
    // Offsets: 0 committed, 1 marker, 2 aborted, 3 marker, 4 late (open), 5 its marker.
    const reading = read(reader, [{ topic: 'cl', partition: 0, startOffset: 0n, endOffset: 5n }]).then(
      (r) => {
        done = true;
        return r;
      },
    );
    await h.cluster.settle();
    expect(done).toBe(false);
    release.resolve();
    await open;
    expect((await reading).got).toEqual(['0@0=committed', '0@4=late']);
    await reader.close();
  });

  it('fails a range below the log start with ChangelogTruncated, and a read waiting for records when closed', async () => {
    const { producer, ...h } = await withProducer('cl', 1);
    await producer.send(
      [0, 1, 2].map((i) => ({ topic: 'cl', partition: 0, key: null, value: buf(String(i)) })),
    );
    h.cluster.deleteRecords('cl', 0, 2n);
    const reader = h.factory.changelogReader('restore');
    await expect(
      read(reader, [{ topic: 'cl', partition: 0, startOffset: 1n, endOffset: 3n }]),
    ).rejects.toMatchObject({ name: 'ChangelogTruncated', topic: 'cl', partition: 0 });
    const waiting = read(reader, [{ topic: 'cl', partition: 0, startOffset: 2n, endOffset: 10n }]);
    await h.cluster.settle();
    await reader.close();
    await expect(waiting).rejects.toThrow(/closed/);
    expect(values(h.cluster.records('cl', 0))).toEqual(['2']);
  });
});
