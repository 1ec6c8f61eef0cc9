// The @platformatic/kafka adapter's transactions against the broker: records and the group's offsets committed in one
// transaction with the consumer's generation (KIP-447), aborted transactions hidden from a read_committed consumer, a
// stale generation and a newer producer of the same transactional id both refused as TASK_MIGRATED.
import type { ConsumedRecord, ConsumerPort, GroupJoin } from '@eddy/streams/internals';
import { afterEach, describe, expect, it } from 'vitest';
import { createTopics, testKafka, uniqueName, waitFor } from '../support/kafka.js';
import { Clients } from './clients.js';

let clients: Clients;
afterEach(() => clients.closeAll());

async function member(groupId: string, topic: string, received: ConsumedRecord[]): Promise<ConsumerPort> {
  let joined: GroupJoin | undefined;
  const consumer = clients.track(
    clients.factory.consumer({
      groupId,
      sessionTimeoutMs: 10_000,
      heartbeatIntervalMs: 500,
      readCommitted: true,
      fromBeginning: true,
      onGroupJoin: (join) => {
        joined = join;
      },
    }),
  );
  await consumer.connect();
  await consumer.subscribe([topic]);
  await consumer.run(async (batch, control) => {
    for (const r of batch.records) {
      received.push(r);
      control.markConsumed(r.offset);
    }
  });
  await waitFor(() => joined, { what: 'group join' });
  return consumer;
}

describe('@platformatic/kafka adapter: transactions', () => {
  it("commits records and the group's offsets in one transaction; read_committed skips an aborted one", async () => {
    clients = new Clients();
    const input = uniqueName('plt-txn-in');
    const output = uniqueName('plt-txn-out');
    await createTopics([
      { topic: input, numPartitions: 1 },
      { topic: output, numPartitions: 1 },
    ]);
    const groupId = uniqueName('plt-txn-group');
    const consumer = await member(groupId, input, []);

    // An aborted transaction of another producer, then ours, committed.
    const other = testKafka().producer({
      transactionalId: uniqueName('plt-other'),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await other.connect();
    const aborted = await other.transaction();
    await aborted.send({ topic: output, messages: [{ value: 'aborted-1' }, { value: 'aborted-2' }] });
    await aborted.abort();
    await other.disconnect();

    const producer = clients.track(clients.factory.transactionalProducer(uniqueName('plt-txn')));
    await producer.connect();
    const records = ['a', 'b', 'c'].map((v) => ({
      topic: output,
      partition: 0,
      key: null,
      value: Buffer.from(v),
    }));
    const last = await producer.commitTransaction(records, consumer.groupMetadata(), [
      { topic: input, partition: 0, offset: '42' },
    ]);
    expect(last.get(`${output}:0`)).toBe(5n); // after the 2 aborted records and their marker

    const admin = clients.track(clients.factory.admin());
    await admin.connect();
    expect(await admin.committedOffsets(groupId, [input])).toEqual(new Map([[`${input}:0`, 42n]]));

    const received: ConsumedRecord[] = [];
    await member(uniqueName('plt-reader'), output, received);
    await waitFor(() => received.length >= 3, { what: 'committed records', timeoutMs: 30_000 });
    expect(received.map((r) => r.value?.toString())).toEqual(['a', 'b', 'c']);
    expect(received.map((r) => r.offset)).toEqual(['3', '4', '5']);
  });

  it('refuses the offsets of a generation that is over, and a producer fenced by a newer one, as TASK_MIGRATED', async () => {
    clients = new Clients();
    const input = uniqueName('plt-zombie-in');
    await createTopics([{ topic: input, numPartitions: 1 }]);
    const groupId = uniqueName('plt-zombie-group');
    const consumer = await member(groupId, input, []);
    const transactionalId = uniqueName('plt-zombie');
    const producer = clients.track(clients.factory.transactionalProducer(transactionalId));
    await producer.connect();
    const stale = { ...consumer.groupMetadata(), generationId: consumer.groupMetadata().generationId + 7 };
    await expect(
      producer.commitTransaction([], stale, [{ topic: input, partition: 0, offset: '1' }]),
    ).rejects.toMatchObject({ code: 'TASK_MIGRATED' });
    // The producer itself is not fenced: the next transaction of the current generation commits.
    await producer.commitTransaction([], consumer.groupMetadata(), [
      { topic: input, partition: 0, offset: '2' },
    ]);

    const newer = clients.track(clients.factory.transactionalProducer(transactionalId));
    await newer.connect();
    await expect(
      producer.commitTransaction([], consumer.groupMetadata(), [{ topic: input, partition: 0, offset: '3' }]),
    ).rejects.toMatchObject({ code: 'TASK_MIGRATED' });
    const admin = clients.track(clients.factory.admin());
    await admin.connect();
    expect(await admin.committedOffsets(groupId, [input])).toEqual(new Map([[`${input}:0`, 2n]]));
  });
});
