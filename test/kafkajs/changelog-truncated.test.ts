// A changelog read whose records are deleted before it reads them (retention or DeleteRecords moved the log start)
// fails with ChangelogTruncated, instead of skipping them silently or waiting for records that will not come; so does
// the follower of a global store's topic, instead of jumping to the log's end.
import { kafkajsClientFactory } from '@eddy/streams/internals';
import { afterEach, describe, expect, it } from 'vitest';
import { brokerList, createTopics, testProducer, uniqueName, withAdmin } from '../support/kafka.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

async function changelogOfTen(deleteBefore: number): Promise<string> {
  const topic = uniqueName('changelog');
  await createTopics([{ topic, numPartitions: 1 }]);
  const producer = testProducer();
  await producer.connect();
  await producer.send({
    topic,
    messages: Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: String(i) })),
  });
  await producer.disconnect();
  await withAdmin(async (admin) => {
    await admin.fetchTopicMetadata({ topics: [topic] }); // (kafkajs needs the leader known to delete records)
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: String(deleteBefore) }] });
  });
  return topic;
}

function factory() {
  return kafkajsClientFactory({
    clientId: uniqueName('restore'),
    brokers: brokerList(),
    connectionTimeoutMs: 3_000,
    requestTimeoutMs: 30_000,
    retryBudgetMs: 10_000,
  });
}

function reader() {
  const r = factory().changelogReader(uniqueName('restore'));
  closers.push(() => r.close());
  return r;
}

describe('a changelog read below the log start', () => {
  it.each([
    ['part of the range was deleted', 5],
    ['all of the range was deleted', 10],
  ])('%s: fails with ChangelogTruncated and hands over nothing', async (_, deleteBefore) => {
    const topic = await changelogOfTen(deleteBefore);
    const offsets: string[] = [];
    await expect(
      reader().read([{ topic, partition: 0, startOffset: 0n, endOffset: 10n }], async (_, records) => {
        offsets.push(...records.map((r) => r.offset));
      }),
    ).rejects.toMatchObject({ name: 'ChangelogTruncated', topic, partition: 0 });
    expect(offsets).toEqual([]);
  });

  it('reads a range that starts at the new log start to its end', async () => {
    const topic = await changelogOfTen(5);
    const offsets: string[] = [];
    await reader().read([{ topic, partition: 0, startOffset: 5n, endOffset: 10n }], async (_, records) => {
      offsets.push(...records.map((r) => r.offset));
    });
    expect(offsets).toEqual(['5', '6', '7', '8', '9']);
  });
});

describe('a global topic followed from below its log start', () => {
  it('fails with ChangelogTruncated and hands over nothing', async () => {
    const topic = await changelogOfTen(5);
    const follower = factory().partitionFollower(uniqueName('global'));
    closers.push(() => follower.close());
    const offsets: string[] = [];
    await expect(
      follower.follow([{ topic, partition: 0, offset: 0n }], async ({ records }) => {
        offsets.push(...records.map((r) => r.offset));
      }),
    ).rejects.toMatchObject({ name: 'ChangelogTruncated', topic, partition: 0 });
    expect(offsets).toEqual([]);
  });
});
