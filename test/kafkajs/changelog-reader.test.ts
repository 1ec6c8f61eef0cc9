// The kafkajs changelog reader hands its batches to the restore one at a time and in order, while it fetches the
// next one: the read resolves only once the last batch is applied, and a batch that fails to apply fails the read
// with nothing handed over after it.
import { setTimeout as sleep } from 'node:timers/promises';
import { kafkajsClientFactory } from '@eddy/streams/internals';
import { afterEach, describe, expect, it } from 'vitest';
import { brokerList, createTopics, testProducer, uniqueName } from '../support/kafka.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

const PARTITIONS = 3;

/** A topic of PARTITIONS partitions with 10 records each: one batch per partition. */
async function changelog(): Promise<string> {
  const topic = uniqueName('changelog-read');
  await createTopics([{ topic, numPartitions: PARTITIONS }]);
  const producer = testProducer();
  await producer.connect();
  await producer.send({
    topic,
    messages: Array.from({ length: 10 * PARTITIONS }, (_, i) => ({
      key: `k${i}`,
      value: String(i),
      partition: i % PARTITIONS,
    })),
  });
  await producer.disconnect();
  return topic;
}

function reader() {
  const r = kafkajsClientFactory({
    clientId: uniqueName('restore'),
    brokers: brokerList(),
    connectionTimeoutMs: 3_000,
    requestTimeoutMs: 30_000,
    retryBudgetMs: 10_000,
  }).changelogReader(uniqueName('restore'));
  closers.push(() => r.close());
  return r;
}

const ranges = (topic: string) =>
  Array.from({ length: PARTITIONS }, (_, partition) => ({
    topic,
    partition,
    startOffset: 0n,
    endOffset: 10n,
  }));

describe('the kafkajs changelog reader', () => {
  it('applies one batch at a time, in order, and resolves once the last one is applied', async () => {
    const topic = await changelog();
    let applying = 0;
    let mostAtOnce = 0;
    const applied: number[] = [];
    await reader().read(ranges(topic), async (range, records) => {
      applying++;
      mostAtOnce = Math.max(mostAtOnce, applying);
      await sleep(100);
      expect(records.map((r) => r.offset)).toEqual(Array.from({ length: 10 }, (_, i) => String(i)));
      applied.push(range.partition);
      applying--;
    });
    expect(mostAtOnce).toBe(1);
    expect(applied.sort()).toEqual([0, 1, 2]);
  });

  it('fails with the error of a batch that could not be applied, handing over nothing after it', async () => {
    const topic = await changelog();
    const handed: number[] = [];
    let settled = false;
    const read = reader().read(ranges(topic), async (range) => {
      handed.push(range.partition);
      await sleep(100);
      settled = true;
      throw new Error('disk full');
    });
    await expect(read).rejects.toThrow('disk full');
    expect(settled).toBe(true);
    expect(handed).toHaveLength(1);
  });
});
