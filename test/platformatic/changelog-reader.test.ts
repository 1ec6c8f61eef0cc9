// The @platformatic/kafka adapter's changelog reader reads exactly the ranges asked for, without a group, and says
// when the records of a range were deleted before it read them.
import type { ConsumedRecord } from '@eddy/streams/internals';
import { afterEach, describe, expect, it } from 'vitest';
import { createTopics, uniqueName } from '../support/kafka.js';
import { Clients } from './clients.js';

let clients: Clients;
afterEach(() => clients.closeAll());

describe('@platformatic/kafka adapter: changelog reader', () => {
  it('reads [start, end) of each partition, in order, and nothing else', async () => {
    clients = new Clients();
    const topic = uniqueName('plt-changelog');
    await createTopics([{ topic, numPartitions: 2 }]);
    const producer = clients.track(clients.factory.producer());
    await producer.connect();
    // Several sends: several record batches per partition.
    for (let round = 0; round < 5; round++) {
      await producer.send(
        Array.from({ length: 20 }, (_, i) => ({
          topic,
          partition: i % 2,
          key: Buffer.from(`k${round * 20 + i}`),
          value: Buffer.from(String(round * 20 + i)),
        })),
      );
    }
    const reader = clients.track(clients.factory.changelogReader(uniqueName('restore')));
    const got = new Map<number, ConsumedRecord[]>([
      [0, []],
      [1, []],
    ]);
    await reader.read(
      [
        { topic, partition: 0, startOffset: 7n, endOffset: 43n },
        { topic, partition: 1, startOffset: 0n, endOffset: 50n },
      ],
      async (range, records) => {
        got.get(range.partition)?.push(...records);
      },
    );
    expect(got.get(0)?.map((r) => r.offset)).toEqual(Array.from({ length: 36 }, (_, i) => String(7 + i)));
    expect(got.get(1)?.map((r) => r.offset)).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
    // Partition 0 holds the even records in send order.
    expect(got.get(0)?.[0]?.value?.toString()).toBe(String(7 * 2));
  });

  it('fails with ChangelogTruncated when the range starts below the log start', async () => {
    clients = new Clients();
    const topic = uniqueName('plt-truncated');
    await createTopics([{ topic, numPartitions: 1 }]);
    const producer = clients.track(clients.factory.producer());
    await producer.connect();
    await producer.send(
      Array.from({ length: 10 }, (_, i) => ({
        topic,
        partition: 0,
        key: null,
        value: Buffer.from(String(i)),
      })),
    );
    const admin = clients.track(clients.factory.admin());
    await admin.connect();
    await admin.deleteRecords(topic, [{ partition: 0, offset: '5' }]);
    expect((await admin.partitionOffsets(topic))[0]).toEqual({ partition: 0, low: 5n, high: 10n });
    const reader = clients.track(clients.factory.changelogReader(uniqueName('restore')));
    await expect(
      reader.read([{ topic, partition: 0, startOffset: 2n, endOffset: 10n }], async () => undefined),
    ).rejects.toMatchObject({ name: 'ChangelogTruncated', topic, partition: 0 });
  });
});
