// kafkajs transactions on Kafka 4: commit, abort, sendOffsets, read_committed consumers and producer fencing.
import type { Admin, Producer } from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTopics, uniqueName, waitFor } from '../support/kafka.js';
import { ClientRegistry } from './clients.js';

const failureOf = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

describe('kafkajs transactions on Kafka 4', () => {
  let clients: ClientRegistry;
  let admin: Admin;
  beforeEach(async () => {
    clients = new ClientRegistry();
    admin = await clients.admin();
  });
  afterEach(() => clients.closeAll());

  const transactionalProducer = (transactionalId: string): Promise<Producer> =>
    clients.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });

  async function committedOffset(groupId: string, topic: string): Promise<string | undefined> {
    const [result] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return result?.partitions.find((p) => p.partition === 0)?.offset;
  }

  it('commits output and offsets together, hides aborted records from read_committed consumers', async () => {
    const input = uniqueName('tx-in');
    const output = uniqueName('tx-out');
    const groupId = uniqueName('tx-group');
    await createTopics([{ topic: input }, { topic: output }]);
    const producer = await transactionalProducer(uniqueName('tx'));

    const committed = await producer.transaction();
    await committed.send({ topic: output, messages: [{ value: 'c1' }, { value: 'c2' }] });
    await committed.sendOffsets({
      consumerGroupId: groupId,
      topics: [{ topic: input, partitions: [{ partition: 0, offset: '5' }] }],
    });
    await committed.commit();
    expect(committed.isActive()).toBe(false);
    await waitFor(async () => (await committedOffset(groupId, input)) === '5', {
      timeoutMs: 10_000,
      what: 'offset 5 committed by the transaction',
    });

    const aborted = await producer.transaction();
    await aborted.sendBatch({
      topicMessages: [{ topic: output, messages: [{ value: 'a1' }, { value: 'a2' }] }],
    });
    await aborted.sendOffsets({
      consumerGroupId: groupId,
      topics: [{ topic: input, partitions: [{ partition: 0, offset: '9' }] }],
    });
    await aborted.abort();

    const last = await producer.transaction();
    await last.send({ topic: output, messages: [{ value: 'c3' }] });
    await last.commit();

    expect(await clients.readUntil(output, 'c3')).toEqual(['c1', 'c2', 'c3']);
    expect(await clients.readUntil(output, 'c3', { readUncommitted: true })).toEqual([
      'c1',
      'c2',
      'a1',
      'a2',
      'c3',
    ]);
    // The aborted transaction's offsets never became visible.
    expect(await committedOffset(groupId, input)).toBe('5');
    // Transaction markers take offsets: 3 committed + 2 aborted records + 3 markers.
    const [end] = await admin.fetchTopicOffsets(output);
    expect(end?.high).toBe('8');
  });

  it('a second producer with the same transactionalId fences the first', async () => {
    const topic = uniqueName('tx-fence');
    await createTopics([{ topic }]);
    const transactionalId = uniqueName('tx');

    const first = await transactionalProducer(transactionalId);
    const open = await first.transaction();
    await open.send({ topic, messages: [{ value: 'from-first' }] });

    // InitProducerId for the same id bumps the epoch and aborts the first producer's open transaction.
    const second = await transactionalProducer(transactionalId);
    const secondTxn = await second.transaction();
    await secondTxn.send({ topic, messages: [{ value: 'from-second' }] });
    await secondTxn.commit();

    const commitError = await failureOf(open.commit());
    expect(commitError).toMatchObject({
      name: 'KafkaJSProtocolError',
      type: 'INVALID_PRODUCER_EPOCH',
      code: 47,
      retriable: false,
    });

    // The fenced producer is left in state COMMITTING: it cannot begin again and has to be replaced.
    expect(await failureOf(first.transaction())).toMatchObject({
      name: 'KafkaJSNonRetriableError',
      message: expect.stringContaining('in state "COMMITTING"'),
    });

    expect(await clients.readUntil(topic, 'from-second')).toEqual(['from-second']);
  });

  it('a fenced producer without an open transaction fails on the next send', async () => {
    const topic = uniqueName('tx-fence-idle');
    await createTopics([{ topic }]);
    const transactionalId = uniqueName('tx');

    const first = await transactionalProducer(transactionalId);
    const done = await first.transaction();
    await done.send({ topic, messages: [{ value: 'first-1' }] });
    await done.commit();

    const second = await transactionalProducer(transactionalId);
    const takeover = await second.transaction();
    await takeover.send({ topic, messages: [{ value: 'second-1' }] });
    await takeover.commit();

    const next = await first.transaction();
    const sendError = await failureOf(next.send({ topic, messages: [{ value: 'first-2' }] }));
    expect(sendError).toMatchObject({
      name: 'KafkaJSProtocolError',
      type: 'INVALID_PRODUCER_EPOCH',
      code: 47,
    });
    // Nothing was added to the transaction, so abort() is local (no EndTxn) and succeeds; the producer stays fenced.
    await next.abort();
    const again = await first.transaction();
    expect(await failureOf(again.send({ topic, messages: [{ value: 'first-3' }] }))).toMatchObject({
      type: 'INVALID_PRODUCER_EPOCH',
    });

    expect(await clients.readUntil(topic, 'second-1')).toEqual(['first-1', 'second-1']);
  });
  it('hides the records of aborted transactions that overlap, whichever ended first', async () => {
    // Two producers' transactions interleave in one partition and the later-begun one aborts first, as when a new
    // owner fences a zombie's tasks one after another. The broker lists aborted transactions in the order they
    // ended, so the one that began first comes second.
    const topic = uniqueName('tx-overlap');
    await createTopics([{ topic }]);
    const first = await (await transactionalProducer(uniqueName('tx-a'))).transaction();
    const second = await (await transactionalProducer(uniqueName('tx-b'))).transaction();
    const committer = await transactionalProducer(uniqueName('tx-c'));
    await first.send({ topic, messages: [{ value: 'a1' }, { value: 'a2' }, { value: 'a3' }] });
    await second.send({ topic, messages: [{ value: 'b1' }, { value: 'b2' }] });
    await first.send({ topic, messages: [{ value: 'a4' }] });
    await second.abort();
    await first.abort();
    const last = await committer.transaction();
    await last.send({ topic, messages: [{ value: 'c1' }] });
    await last.commit();

    expect(await clients.readUntil(topic, 'c1', { readUncommitted: true })).toEqual([
      'a1',
      'a2',
      'a3',
      'b1',
      'b2',
      'a4',
      'c1',
    ]);
    expect(await clients.readUntil(topic, 'c1')).toEqual(['c1']);
  });
});
