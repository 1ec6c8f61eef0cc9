// run({ eachBatchIncludeEmpty }) (patched kafkajs) on the broker: eachBatch also hears of fetches that found no
// records, with the partition's high watermark, and such a batch never moves the consumer's position.
import type { Batch, Consumer } from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTopics, uniqueName, waitFor } from '../support/kafka.js';
import { ClientRegistry, fastConsumerConfig } from './clients.js';

interface Seen {
  partition: number;
  offsets: string[];
  highWatermark: string;
  lastOffset: string;
}

/** Resolves after the consumer's next `n` fetch rounds. */
function fetchRounds(consumer: Consumer, n: number): Promise<void> {
  let left = n;
  return new Promise((resolve) => {
    const remove = consumer.on(consumer.events.FETCH, () => {
      if (--left > 0) return;
      remove();
      resolve();
    });
  });
}

const seen = (batch: Batch): Seen => ({
  partition: batch.partition,
  offsets: batch.messages.map((m) => m.offset),
  highWatermark: batch.highWatermark,
  lastOffset: batch.lastOffset(),
});

describe('consumer.run({ eachBatchIncludeEmpty }) (patched kafkajs)', () => {
  let clients: ClientRegistry;
  let topic: string;
  beforeEach(async () => {
    clients = new ClientRegistry();
    topic = uniqueName('empty-batches');
    await createTopics([{ topic, numPartitions: 2 }]);
  });
  afterEach(() => clients.closeAll());

  it('hands eachBatch the fetches without records, with the high watermark, as well as the others', async () => {
    const producer = await clients.producer();
    await producer.send({ topic, messages: ['a', 'b', 'c'].map((value) => ({ partition: 0, value })) });
    const consumer = await clients.consumer(fastConsumerConfig(uniqueName('group')));
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const batches: Seen[] = [];
    await consumer.run({
      autoCommit: false,
      eachBatchIncludeEmpty: true,
      eachBatch: async ({ batch }) => {
        batches.push(seen(batch));
      },
    });
    // Partition 1 never had a record; partition 0 is caught up once its three records were handed over.
    const emptyOf = (partition: number) =>
      batches.filter((b) => b.partition === partition && b.offsets.length === 0);
    await waitFor(() => emptyOf(0).length > 0 && emptyOf(1).length > 0, {
      timeoutMs: 15_000,
      what: 'an empty batch of each partition',
    });
    expect(batches.find((b) => b.offsets.length > 0)).toEqual({
      partition: 0,
      offsets: ['0', '1', '2'],
      highWatermark: '3',
      lastOffset: '2',
    });
    expect(emptyOf(0)[0]).toEqual({ partition: 0, offsets: [], highWatermark: '3', lastOffset: '2' });
    expect(emptyOf(1)[0]).toEqual({ partition: 1, offsets: [], highWatermark: '0', lastOffset: '-1' });
    // The records were handed over once: the empty batches did not move the position back or forth.
    expect(batches.flatMap((b) => b.offsets)).toEqual(['0', '1', '2']);
  });

  it('never resolves an empty batch: records of a transaction open at that fetch arrive once it commits', async () => {
    const producer = await clients.producer({
      transactionalId: uniqueName('txn'),
      maxInFlightRequests: 1,
      idempotent: true,
    });
    const transaction = await producer.transaction();
    await transaction.send({ topic, messages: ['x', 'y'].map((value) => ({ partition: 1, value })) });
    // read_committed (kafkajs's default): the open transaction's records are beyond the last stable offset.
    const consumer = await clients.consumer(fastConsumerConfig(uniqueName('group')));
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const batches: Seen[] = [];
    await consumer.run({
      autoCommit: false,
      // Even with auto-resolve, which would resolve lastOffset() (1 here) for a batch with records.
      eachBatchAutoResolve: true,
      eachBatchIncludeEmpty: true,
      eachBatch: async ({ batch }) => {
        batches.push(seen(batch));
      },
    });
    await waitFor(() => batches.some((b) => b.partition === 1), {
      timeoutMs: 15_000,
      what: 'a batch of partition 1',
    });
    expect(batches.find((b) => b.partition === 1)).toEqual({
      partition: 1,
      offsets: [],
      highWatermark: '2',
      lastOffset: '1',
    });
    await transaction.commit();
    await waitFor(() => batches.some((b) => b.partition === 1 && b.offsets.length > 0), {
      timeoutMs: 15_000,
      what: 'the committed records of partition 1',
    });
    expect(batches.filter((b) => b.partition === 1).flatMap((b) => b.offsets)).toEqual(['0', '1']);
  });

  it('without the option, eachBatch sees only batches with records, as in kafkajs', async () => {
    const producer = await clients.producer();
    await producer.send({ topic, messages: [{ partition: 0, value: 'a' }] });
    const consumer = await clients.consumer(fastConsumerConfig(uniqueName('group')));
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const batches: Seen[] = [];
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        batches.push(seen(batch));
      },
    });
    await waitFor(() => batches.length > 0, { timeoutMs: 15_000, what: 'the record of partition 0' });
    // Both partitions are caught up now: several more fetch rounds bring nothing to eachBatch.
    await fetchRounds(consumer, 3);
    expect(batches).toEqual([{ partition: 0, offsets: ['0'], highWatermark: '1', lastOffset: '0' }]);
  });
});
