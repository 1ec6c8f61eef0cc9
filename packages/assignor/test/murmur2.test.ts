import fc from 'fast-check';
import { Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { murmur2, partitionForKey } from '../src/index.js';

// kafkajs's public DefaultPartitioner is the reference implementation of Kafka's default partitioner.

const utf8 = (s: string) => Buffer.from(s, 'utf8');

describe('murmur2', () => {
  it('matches the values the Java client computes', () => {
    // Test vectors of Apache Kafka's own Utils.murmur2 test.
    expect(murmur2(utf8('21'))).toBe(-973932308);
    expect(murmur2(utf8('foobar'))).toBe(-790332482);
    expect(murmur2(utf8('a-little-bit-long-string'))).toBe(-985981536);
    expect(murmur2(utf8('a-little-bit-longer-string'))).toBe(-1486304829);
    expect(murmur2(utf8('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'))).toBe(-58897971);
    expect(murmur2(utf8('abc'))).toBe(479470107);
    expect(murmur2(utf8('a'))).toBe(-1563381124);
    expect(murmur2(new Uint8Array())).toBe(275646681);
  });

  it('partitions keys exactly like kafkajs DefaultPartitioner', () => {
    const partitioner = Partitioners.DefaultPartitioner();
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.integer({ min: 1, max: 500 }),
        (key, numPartitions) => {
          const partitionMetadata = Array.from({ length: numPartitions }, (_, partitionId) => ({
            partitionId,
            leader: 0,
            partitionErrorCode: 0,
            replicas: [0],
            isr: [0],
          }));
          const message = { key: Buffer.from(key), value: null };
          const expected = partitioner({ topic: 't', partitionMetadata, message });
          expect(partitionForKey(key, numPartitions)).toBe(expected);
        },
      ),
      { numRuns: 500 },
    );
  });
});
