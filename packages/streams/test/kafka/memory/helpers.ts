// Shared pieces of the in-memory Kafka tests: a round-robin group protocol written here (not the cluster's own),
// and a consumer that records what it is handed and what the group gave it.

import {
  type MemoryClientFactory,
  type MemoryConsumer,
  MemoryKafkaCluster,
  type MemoryProducer,
  memoryClientFactory,
} from '../../../src/internals.js';
import type {
  BatchHandler,
  ConsumedRecord,
  ConsumerOptions,
  GroupJoin,
  GroupProtocol,
  MemberPlan,
} from '../../../src/kafka/port.js';

/** Deals the partitions of `topics` round robin over the members sorted by id; userData names the member's index. */
export function roundRobin(topics: string[], calls: string[][] = []): GroupProtocol {
  return {
    name: 'test-round-robin',
    subscription: () => Buffer.from(topics.join(',')),
    assign(members, partitionCount) {
      const ids = members.map((m) => m.memberId).sort();
      calls.push(ids);
      const plans = new Map<string, MemberPlan>(
        ids.map((id, i) => [id, { partitions: [], userData: Buffer.from(String(i)) }]),
      );
      let next = 0;
      for (const topic of topics) {
        for (let partition = 0; partition < partitionCount(topic); partition++) {
          plans.get(ids[next++ % ids.length]!)!.partitions.push({ topic, partition });
        }
      }
      return plans;
    },
  };
}

export interface Harness {
  cluster: MemoryKafkaCluster;
  factory: MemoryClientFactory;
}

export function newCluster(): Harness {
  const cluster = new MemoryKafkaCluster({ startTime: 1_000_000 });
  return { cluster, factory: memoryClientFactory(cluster) };
}

/** A consumer that collects records (marking each batch consumed) and the joins it received. */
export interface TestConsumer {
  consumer: MemoryConsumer;
  records: (ConsumedRecord & { topic: string; partition: number })[];
  joins: GroupJoin[];
  crashes: unknown[];
  /** Partitions of the latest join, as `topic:partition`. */
  assigned(): string[];
}

export async function startConsumer(
  h: Harness,
  topics: string[],
  options: Partial<ConsumerOptions> & { handler?: BatchHandler } = {},
): Promise<TestConsumer> {
  const records: TestConsumer['records'] = [];
  const joins: GroupJoin[] = [];
  const crashes: unknown[] = [];
  const consumer = h.factory.consumer({
    groupId: 'g',
    protocol: roundRobin(topics),
    sessionTimeoutMs: 10_000,
    heartbeatIntervalMs: 1_000,
    readCommitted: false,
    fromBeginning: true,
    ...options,
    onGroupJoin: (join) => joins.push(join),
    onCrash: (err) => crashes.push(err),
  });
  await consumer.connect();
  await consumer.subscribe(topics);
  await consumer.run(
    options.handler ??
      (async (batch, control) => {
        for (const r of batch.records) records.push({ ...r, topic: batch.topic, partition: batch.partition });
        control.markConsumed(batch.records[batch.records.length - 1]!.offset);
      }),
  );
  return {
    consumer,
    records,
    joins,
    crashes,
    assigned: () =>
      (joins[joins.length - 1]?.assigned ?? []).map((tp) => `${tp.topic}:${tp.partition}`).sort(),
  };
}

export const buf = (s: string): Buffer => Buffer.from(s);
export const values = (records: { value: Buffer | null }[]): string[] =>
  records.map((r) => r.value?.toString() ?? 'null');

/** A promise and the function that resolves it. */
export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** A cluster with one topic and a connected producer. */
export async function withProducer(
  topic: string,
  partitions: number,
): Promise<Harness & { producer: MemoryProducer }> {
  const h = newCluster();
  h.cluster.createTopic({ topic, partitions });
  const producer = h.factory.producer();
  await producer.connect();
  return { ...h, producer };
}
