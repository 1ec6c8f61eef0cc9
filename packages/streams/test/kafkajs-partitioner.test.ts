// The kafkajs producers' partitioner places every record where kafkajs's (Java-compatible) default partitioner does.
import { randomBytes } from 'node:crypto';
import { Partitioners, type PartitionMetadata } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { eddyPartitioner } from '../src/kafka/kafkajs/partitioner.js';

function partitions(count: number, leaderless: number[] = []): PartitionMetadata[] {
  return Array.from({ length: count }, (_, partitionId) => ({
    partitionErrorCode: 0,
    partitionId,
    leader: leaderless.includes(partitionId) ? -1 : 0,
    replicas: [0],
    isr: [0],
  }));
}

describe('eddyPartitioner', () => {
  it('places keyed records as the default partitioner does, for Buffer and string keys of every length', () => {
    const ours = eddyPartitioner();
    const theirs = Partitioners.DefaultPartitioner();
    for (const count of [1, 3, 6, 7, 64]) {
      const partitionMetadata = partitions(count);
      for (let i = 0; i < 2_000; i++) {
        const bytes = randomBytes(i % 23);
        for (const key of [bytes, `key-${i}-${bytes.toString('hex')}`, `wörd-${i}`]) {
          const args = { topic: 't', partitionMetadata, message: { key, value: null } };
          expect(ours(args), `key ${String(key)} over ${count}`).toBe(theirs(args));
        }
      }
    }
  });

  it('keeps an explicit partition, even for a keyed record', () => {
    const place = eddyPartitioner();
    const args = {
      topic: 't',
      partitionMetadata: partitions(6),
      message: { key: 'k', value: null, partition: 4 },
    };
    expect(place(args)).toBe(4);
    expect(place({ ...args, message: { key: 'k', value: null, partition: 0 } })).toBe(0);
  });

  it('spreads records without a key round robin over the partitions that have a leader', () => {
    const place = eddyPartitioner();
    const partitionMetadata = partitions(6, [1, 4]);
    const seen = Array.from({ length: 8 }, () =>
      place({ topic: 't', partitionMetadata, message: { key: null, value: 'v' } }),
    );
    expect(new Set(seen)).toEqual(new Set([0, 2, 3, 5]));
    // Consecutive records go to consecutive partitions of the leader list.
    const order = [0, 2, 3, 5];
    for (let i = 1; i < seen.length; i++) {
      expect(order.indexOf(seen[i]!)).toBe((order.indexOf(seen[i - 1]!) + 1) % order.length);
    }
    // With no leader anywhere it still names a partition of the topic.
    const none = place({
      topic: 'u',
      partitionMetadata: partitions(3, [0, 1, 2]),
      message: { key: null, value: 'v' },
    });
    expect([0, 1, 2]).toContain(none);
  });
});
