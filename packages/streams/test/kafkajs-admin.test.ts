// The kafkajs admin adapter: creating internal topics survives a broker whose metadata does not know them yet.

import { describe, expect, it } from 'vitest';
import type { Admin } from '#kafkajs';
import { KafkajsAdmin } from '../src/kafka/kafkajs/admin.js';

/** A kafkajs error as its admin rejects with it: a protocol error wrapped by the retrier. */
function protocolError(type: string): Error {
  const cause = Object.assign(new Error('This server does not host this topic-partition'), { type, code: 3 });
  return Object.assign(new Error(cause.message), { name: 'KafkaJSNonRetriableError', originalError: cause });
}

describe('KafkajsAdmin.createTopics', () => {
  it("waits for the leaders itself when kafkajs's wait fails on a metadata answer that does not know the topic yet", async () => {
    const asked: string[][] = [];
    const fake = {
      createTopics: async () => {
        throw protocolError('UNKNOWN_TOPIC_OR_PARTITION');
      },
      fetchTopicMetadata: async ({ topics }: { topics: string[] }) => {
        asked.push(topics);
        return { topics: topics.map((name) => ({ name, partitions: [{ partitionId: 0, leader: 1 }] })) };
      },
    } as unknown as Admin;
    await expect(
      new KafkajsAdmin(fake).createTopics([{ topic: 'app-x-repartition', partitions: 1 }]),
    ).resolves.toBeUndefined();
    expect(asked).toEqual([['app-x-repartition']]);
  });

  it('still fails on any other error', async () => {
    const fake = {
      createTopics: async () => {
        throw protocolError('INVALID_REPLICATION_FACTOR');
      },
    } as unknown as Admin;
    await expect(
      new KafkajsAdmin(fake).createTopics([{ topic: 'app-x-repartition', partitions: 1 }]),
    ).rejects.toThrow('does not host');
  });
});
