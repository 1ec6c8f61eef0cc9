// In-memory Kafka: transactions — atomic records and offsets, aborts, fencing by transactional id, read_committed.
import { describe, expect, it } from 'vitest';
import type { OutgoingRecord } from '../../../src/kafka/port.js';
import { buf, deferred, type Harness, newCluster, startConsumer, values } from './helpers.js';

const record = (value: string, partition = 0): OutgoingRecord => ({
  topic: 'out',
  partition,
  key: null,
  value: buf(value),
});

async function setup(): Promise<Harness> {
  const h = newCluster();
  h.cluster.createTopic({ topic: 'in', partitions: 1 });
  h.cluster.createTopic({ topic: 'out', partitions: 2 });
  return h;
}

async function transactional(h: Harness, id = 'app-0_0') {
  const p = h.factory.transactionalProducer(id);
  await p.connect();
  return p;
}

describe('in-memory Kafka: transactions', () => {
  it('a commit makes the records and the group offsets visible together; each transaction ends with a marker offset', async () => {
    const h = await setup();
    const p = await transactional(h);
    const last = await p.commitTransaction([record('a'), record('b'), record('c', 1)], 'g', [
      { topic: 'in', partition: 0, offset: '7' },
    ]);
    expect(last).toEqual(
      new Map([
        ['out:0', 1n],
        ['out:1', 0n],
      ]),
    );
    expect(values(h.cluster.records('out', 0, 'read_committed'))).toEqual(['a', 'b']);
    expect(h.cluster.committedOffsets('g')).toEqual(new Map([['in:0', 7n]]));
    // Kafka writes a commit marker after the records: the next transaction starts at offset 3.
    const next = await p.commitTransaction([record('d')], 'g', []);
    expect(next.get('out:0')).toBe(3n);
    const admin = h.factory.admin();
    await admin.connect();
    expect((await admin.partitionOffsets('out'))[0]).toEqual({ partition: 0, low: 0n, high: 5n });
  });

  it('an open transaction holds back the last stable offset: read_committed readers stop there, read_uncommitted do not', async () => {
    const h = await setup();
    const p = await transactional(h);
    const release = deferred();
    h.cluster.faults.delayNext('transaction', release.promise);
    const committing = p.commitTransaction([record('x')], 'g', []);
    const committed = await startConsumer(h, ['out'], { groupId: 'rc', readCommitted: true });
    const uncommitted = await startConsumer(h, ['out'], { groupId: 'ru', readCommitted: false });
    await h.cluster.settle();
    expect(values(committed.records)).toEqual([]);
    expect(values(uncommitted.records)).toEqual(['x']);
    const admin = h.factory.admin();
    await admin.connect();
    expect((await admin.partitionOffsets('out'))[0]!.high).toBe(0n);
    release.resolve();
    await committing;
    await h.cluster.settle();
    expect(values(committed.records)).toEqual(['x']);
    expect((await admin.partitionOffsets('out'))[0]!.high).toBe(2n);
    await Promise.all([committed.consumer.close(), uncommitted.consumer.close(), admin.close()]);
  });

  it('a failed transaction is aborted: read_committed never sees its records and its offsets are not committed', async () => {
    const h = await setup();
    const p = await transactional(h);
    h.cluster.faults.failNext('transaction', 'REQUEST_TIMED_OUT');
    await expect(
      p.commitTransaction([record('lost')], 'g', [{ topic: 'in', partition: 0, offset: '1' }]),
    ).rejects.toMatchObject({
      type: 'REQUEST_TIMED_OUT',
      retriable: true,
    });
    await p.commitTransaction([record('kept')], 'g', []);
    expect(values(h.cluster.records('out', 0, 'read_committed'))).toEqual(['kept']);
    expect(values(h.cluster.records('out', 0, 'read_uncommitted'))).toEqual(['lost', 'kept']);
    expect(h.cluster.committedOffsets('g').size).toBe(0);
  });

  it('connect() of a new producer with the same transactional id fences the old one and aborts its open transaction', async () => {
    const h = await setup();
    const old = await transactional(h, 'app-0_1');
    const release = deferred();
    h.cluster.faults.delayNext('transaction', release.promise, { target: 'app-0_1' });
    const zombie = old.commitTransaction([record('zombie')], 'g', [
      { topic: 'in', partition: 0, offset: '3' },
    ]);
    await h.cluster.settle();
    const successor = await transactional(h, 'app-0_1');
    release.resolve();
    await expect(zombie).rejects.toMatchObject({
      code: 'TASK_MIGRATED',
      cause: { type: 'PRODUCER_FENCED', retriable: false },
    });
    await expect(old.commitTransaction([record('again')], 'g', [])).rejects.toMatchObject({
      code: 'TASK_MIGRATED',
      cause: { type: 'PRODUCER_FENCED' },
    });
    await successor.commitTransaction([record('successor')], 'g', [
      { topic: 'in', partition: 0, offset: '3' },
    ]);
    expect(values(h.cluster.records('out', 0, 'read_committed'))).toEqual(['successor']);
    expect(h.cluster.committedOffsets('g')).toEqual(new Map([['in:0', 3n]]));
    expect(h.cluster.transactions.epochOf('app-0_1')).toBe(1);
  });

  it('a transaction open past the transaction timeout is aborted by the coordinator, which fences its producer', async () => {
    const h = newCluster();
    h.cluster.createTopic({ topic: 'out', partitions: 1 });
    const p = await transactional(h);
    const release = deferred();
    h.cluster.faults.delayNext('transaction', release.promise);
    const pending = p.commitTransaction([record('slow')], 'g', []);
    await h.cluster.settle();
    h.cluster.advance(60_001);
    release.resolve();
    await expect(pending).rejects.toMatchObject({
      code: 'TASK_MIGRATED',
      cause: { type: 'PRODUCER_FENCED' },
    });
    expect(h.cluster.records('out', 0, 'read_committed')).toEqual([]);
  });

  it('with the group metadata (KIP-447), offsets of a member from an older generation are refused and the transaction aborted', async () => {
    const h = await setup();
    const member = await startConsumer(h, ['in'], { groupId: 'app' });
    const stale = member.consumer.groupMetadata();
    expect(stale).toMatchObject({ generationId: 1 });
    const p = await transactional(h);
    await p.commitTransaction([record('ok')], stale, [{ topic: 'in', partition: 0, offset: '1' }]);
    h.cluster.rebalance('app');
    await h.cluster.settle();
    await expect(
      p.commitTransaction([record('zombie')], stale, [{ topic: 'in', partition: 0, offset: '2' }]),
    ).rejects.toMatchObject({ code: 'TASK_MIGRATED', cause: { type: 'ILLEGAL_GENERATION' } });
    // Only the group id (TxnOffsetCommit v1, what kafkajs sends) cannot be checked: the same commit goes through.
    await p.commitTransaction([record('unchecked')], 'app', [{ topic: 'in', partition: 0, offset: '2' }]);
    expect(values(h.cluster.records('out', 0, 'read_committed'))).toEqual(['ok', 'unchecked']);
    await p.commitTransaction([], member.consumer.groupMetadata(), [
      { topic: 'in', partition: 0, offset: '3' },
    ]);
    expect(h.cluster.committedOffsets('app')).toEqual(new Map([['in:0', 3n]]));
    await member.consumer.close();
  });

  it('a read_committed consumer skips aborted records and markers and fetches on after them', async () => {
    const h = await setup();
    const p = await transactional(h);
    await p.commitTransaction([record('a')], 'g', []);
    h.cluster.faults.failNext('transaction', 'KAFKA_STORAGE_ERROR');
    await p.commitTransaction([record('aborted-1'), record('aborted-2')], 'g', []).catch(() => undefined);
    await p.commitTransaction([record('b')], 'g', []);
    const c = await startConsumer(h, ['out'], { groupId: 'rc', readCommitted: true });
    await h.cluster.settle();
    expect(values(c.records.filter((r) => r.partition === 0))).toEqual(['a', 'b']);
    expect(c.records.map((r) => r.offset)).toEqual(['0', '5']);
    await c.consumer.close();
  });
});
