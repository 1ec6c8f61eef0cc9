// Test setup: an in-memory Kafka whose changelog already holds a stored count, so that a task restores on creation.
import { MemoryKafkaCluster, memoryClientFactory } from '../src/internals.js';

const START_TIME = 1_700_000_000_000;

/**
 * An in-memory cluster with `topics` (one partition each) and, in `changelog`, a count of 1 for key `k` as a
 * count store writes it: the timestamp (8 bytes), then the float64 count. Its producer is connected; `close` it.
 */
export async function clusterWithStoredCount(topics: string[], changelog: string) {
  const kafka = new MemoryKafkaCluster({ startTime: START_TIME });
  for (const topic of [...topics, changelog]) kafka.createTopic({ topic, partitions: 1 });
  const factory = memoryClientFactory(kafka);
  const producer = factory.producer();
  await producer.connect();
  const stored = Buffer.alloc(16);
  stored.writeBigInt64BE(BigInt(START_TIME), 0);
  stored.writeDoubleBE(1, 8);
  await producer.send([{ topic: changelog, key: Buffer.from('k'), value: stored }]);
  return { kafka, factory, producer };
}
