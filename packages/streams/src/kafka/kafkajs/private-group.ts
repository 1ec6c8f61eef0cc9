// Reading chosen partitions with kafkajs, which has no manual assign(): a consumer of a private group of one whose
// assigner hands it exactly those partitions, sought to the offsets wanted.

import {
  AssignerProtocol,
  type Batch,
  type Consumer,
  type Kafka,
  type KafkaConfig,
  type PartitionAssigner,
} from '#kafkajs';

type Partition = { topic: string; partition: number };

/** An assigner for a private group of one member: it gets exactly the partitions asked for. */
function exactAssigner(wanted: readonly Partition[]): PartitionAssigner {
  const assignment: Record<string, number[]> = {};
  for (const r of wanted) assignment[r.topic] = [...(assignment[r.topic] ?? []), r.partition];
  return () => ({
    name: 'eddy-changelog-reader',
    version: 1,
    protocol: ({ topics }) => ({
      name: 'eddy-changelog-reader',
      metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }),
    }),
    assign: async ({ members }) =>
      members.map((m, i) => ({
        memberId: m.memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 1,
          assignment: i === 0 ? assignment : {},
          userData: Buffer.alloc(0),
        }),
      })),
  });
}

/** A consumer of the private group `groupId` that will be assigned exactly `partitions`; it never restarts itself. */
export function privateGroupConsumer(
  kafka: Kafka,
  groupId: string,
  partitions: readonly Partition[],
  retry: NonNullable<KafkaConfig['retry']>,
  options: { maxWaitTimeInMs: number; maxBytes?: number; maxBytesPerPartition?: number },
): Consumer {
  return kafka.consumer({
    groupId,
    partitionAssigners: [exactAssigner(partitions)],
    allowAutoTopicCreation: false,
    ...options,
    retry: { ...retry, restartOnFailure: async () => false },
  });
}

/**
 * Connects `consumer`, seeks every partition to its start offset and hands its fetched batches (one partition at a
 * time) to `onBatch` until `finished` resolves; then disconnects. A batch is marked consumed (and a heartbeat sent)
 * when `onBatch` resolves true. Rejects when the consumer crashes or `onBatch` throws (no batch is handed over
 * after that).
 */
export async function readUntil(
  consumer: Consumer,
  starts: readonly (Partition & { offset: bigint })[],
  onBatch: (batch: Batch) => Promise<boolean>,
  finished: Promise<void>,
): Promise<void> {
  let fail: (err: unknown) => void = () => undefined;
  const failure = new Promise<never>((_, reject) => {
    fail = reject;
  });
  failure.catch(() => undefined);
  let failed = false;
  consumer.on(consumer.events.CRASH, (e) => fail(e.payload.error));
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [...new Set(starts.map((s) => s.topic))], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
        if (failed) return;
        try {
          if (!(await onBatch(batch))) return;
        } catch (err) {
          failed = true;
          fail(err);
          return;
        }
        const lastMessage = batch.messages[batch.messages.length - 1];
        if (lastMessage) resolveOffset(lastMessage.offset);
        await heartbeat();
      },
    });
    for (const s of starts) {
      consumer.seek({ topic: s.topic, partition: s.partition, offset: s.offset.toString() });
    }
    await Promise.race([finished, failure]);
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
}
