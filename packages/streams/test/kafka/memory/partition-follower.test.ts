// In-memory Kafka: the partition follower reads partitions from given offsets on, read_committed, waiting for new
// records, until closed.
import { describe, expect, it } from 'vitest';
import { buf, deferred, newCluster, withProducer } from './helpers.js';

describe('in-memory Kafka: partition follower', () => {
  it('reads from each start offset on, hands over records written later, and resolves once closed', async () => {
    const { producer, ...h } = await withProducer('g', 2);
    const send = (partition: number, ...vs: string[]) =>
      producer.send(vs.map((v) => ({ topic: 'g', partition, key: buf(v), value: buf(v) })));
    await send(0, 'a', 'b', 'c');
    await send(1, 'x');
    const follower = h.factory.partitionFollower('global');
    const got: string[] = [];
    const following = follower.follow(
      [
        { topic: 'g', partition: 0, offset: 1n },
        { topic: 'g', partition: 1, offset: 0n },
      ],
      async ({ partition, records }) => {
        got.push(...records.map((r) => `${partition}@${r.offset}=${r.value?.toString()}`));
      },
    );
    await h.cluster.settle();
    expect(got).toEqual(['0@1=b', '0@2=c', '1@0=x']);
    await send(1, 'y');
    await send(0, 'd');
    await h.cluster.settle();
    expect(got.slice(3)).toEqual(['1@1=y', '0@3=d']);
    await follower.close();
    await following;
    await follower.close();
    expect(h.cluster.openClients()).not.toContain('partition-follower:global');
  });

  it('fails with ChangelogTruncated once records it had not read are deleted, handing over none of the later ones', async () => {
    const { producer, ...h } = await withProducer('g', 1);
    await producer.send(
      ['a', 'b', 'c'].map((v) => ({ topic: 'g', partition: 0, key: buf(v), value: buf(v) })),
    );
    const admin = h.factory.admin();
    await admin.connect();
    await admin.deleteRecords('g', [{ partition: 0, offset: '2' }]);
    await admin.close();
    const got: string[] = [];
    const follower = h.factory.partitionFollower('global');
    await expect(
      follower.follow([{ topic: 'g', partition: 0, offset: 0n }], async ({ records }) => {
        got.push(...records.map((r) => r.offset));
      }),
    ).rejects.toMatchObject({ name: 'ChangelogTruncated', topic: 'g', partition: 0 });
    expect(got).toEqual([]);
    await follower.close();
  });

  it('skips aborted records and waits while a transaction is open', async () => {
    const h = newCluster();
    h.cluster.createTopic({ topic: 'g', partitions: 1 });
    const p = h.factory.transactionalProducer('t');
    await p.connect();
    h.cluster.faults.failNext('transaction', 'REQUEST_TIMED_OUT');
    await p
      .commitTransaction([{ topic: 'g', partition: 0, key: null, value: buf('aborted') }], 'x', [])
      .catch(() => undefined);
    const release = deferred();
    h.cluster.faults.delayNext('transaction', release.promise);
    const open = p.commitTransaction([{ topic: 'g', partition: 0, key: null, value: buf('late') }], 'x', []);
    const follower = h.factory.partitionFollower('global');
    const got: string[] = [];
    const following = follower.follow([{ topic: 'g', partition: 0, offset: 0n }], async ({ records }) => {
      got.push(...records.map((r) => r.value!.toString()));
    });
    await h.cluster.settle();
    expect(got).toEqual([]);
    release.resolve();
    await open;
    await h.cluster.settle();
    expect(got).toEqual(['late']);
    await follower.close();
    await following;
    await p.close();
  });

  it('fails when a batch handler throws', async () => {
    const { producer, ...h } = await withProducer('g', 1);
    await producer.send([{ topic: 'g', partition: 0, key: null, value: buf('v') }]);
    const follower = h.factory.partitionFollower('global');
    await expect(
      follower.follow([{ topic: 'g', partition: 0, offset: 0n }], async () => {
        throw new Error('store failed');
      }),
    ).rejects.toThrow('store failed');
    await follower.close();
  });
});
