// In-memory Kafka: injected failures and delays of produce, commit, join and connect, for tests of the runtime.
import { describe, expect, it } from 'vitest';
import { buf, deferred, newCluster, startConsumer, values, withProducer } from './helpers.js';

describe('in-memory Kafka: fault injection', () => {
  it('fails the next N sends to a topic with the chosen error, writing nothing, then sends again', async () => {
    const h = newCluster();
    h.cluster.createTopic({ topic: 'a', partitions: 1 });
    h.cluster.createTopic({ topic: 'b', partitions: 1 });
    const producer = h.factory.producer();
    await producer.connect();
    h.cluster.faults.failNext('produce', 'NOT_LEADER_FOR_PARTITION', { times: 2, target: 'a' });
    await producer.send([{ topic: 'b', partition: 0, key: null, value: buf('b') }]);
    for (let i = 0; i < 2; i++) {
      await expect(
        producer.send([{ topic: 'a', partition: 0, key: null, value: buf('x') }]),
      ).rejects.toMatchObject({
        type: 'NOT_LEADER_FOR_PARTITION',
        retriable: true,
      });
    }
    await producer.send([{ topic: 'a', partition: 0, key: null, value: buf('a') }]);
    expect(values(h.cluster.records('a', 0))).toEqual(['a']);
    expect(h.cluster.faults.pending).toBe(0);
  });

  it('delays a send until the test resolves the promise', async () => {
    const { producer, ...h } = await withProducer('a', 1);
    const release = deferred();
    h.cluster.faults.delayNext('produce', release.promise);
    const sending = producer.send([{ topic: 'a', partition: 0, key: null, value: buf('a') }]);
    await h.cluster.settle();
    expect(h.cluster.records('a', 0)).toEqual([]);
    release.resolve();
    expect(await sending).toEqual(new Map([['a:0', 0n]]));
  });

  it('an injected rebalance error on an offset commit surfaces as TASK_MIGRATED, any other error as it is', async () => {
    const h = newCluster();
    h.cluster.createTopic({ topic: 'a', partitions: 1 });
    const c = await startConsumer(h, ['a']);
    h.cluster.faults.failNext('commit', 'REBALANCE_IN_PROGRESS');
    h.cluster.faults.failNext('commit', new Error('disk full'));
    const offsets = [{ topic: 'a', partition: 0, offset: '0' }];
    await expect(c.consumer.commit(offsets)).rejects.toMatchObject({ code: 'TASK_MIGRATED' });
    await expect(c.consumer.commit(offsets)).rejects.toThrow('disk full');
    await c.consumer.commit(offsets);
    expect(h.cluster.committedOffsets('g')).toEqual(new Map([['a:0', 0n]]));
    await c.consumer.close();
  });

  it('a failing join makes the consumer crash (onCrash) and run() resolve, as kafkajs does without restarts', async () => {
    const h = newCluster();
    h.cluster.createTopic({ topic: 'a', partitions: 1 });
    h.cluster.faults.failNext('join', 'COORDINATOR_LOAD_IN_PROGRESS', { target: 'g' });
    const c = await startConsumer(h, ['a']);
    expect(c.crashes).toEqual([
      expect.objectContaining({ type: 'COORDINATOR_LOAD_IN_PROGRESS', retriable: true }),
    ]);
    expect(c.joins).toEqual([]);
    await c.consumer.close();
  });

  it('fails or delays connecting a client', async () => {
    const h = newCluster();
    h.cluster.faults.failNext('connect', 'NETWORK_EXCEPTION', { target: 'admin' });
    const admin = h.factory.admin();
    await expect(admin.connect()).rejects.toMatchObject({ type: 'NETWORK_EXCEPTION' });
    const release = deferred();
    h.cluster.faults.delayNext('connect', release.promise, { target: 'app-0_0' });
    const producer = h.factory.transactionalProducer('app-0_0');
    let connected = false;
    const connecting = producer.connect().then(() => {
      connected = true;
    });
    await h.cluster.settle();
    expect(connected).toBe(false);
    release.resolve();
    await connecting;
    expect(h.cluster.openClients()).toEqual(['admin:admin', 'transactional-producer:app-0_0']);
    await Promise.all([admin.close(), producer.close()]);
    expect(h.cluster.openClients()).toEqual([]);
  });
});
