// Reads changelog partitions with kafkajs, which has no manual assign(): a private group whose assigner hands its
// one consumer exactly the partitions asked for.

import {
  AssignerProtocol,
  type Consumer,
  type Kafka,
  type KafkaConfig,
  type PartitionAssigner,
} from 'kafkajs';
import type { ChangelogRange, ChangelogReaderPort, ConsumedRecord } from '../port.js';
import { toConsumed } from './conversions.js';

/** An assigner for a private group of one member: it gets exactly the partitions the reader asked for. */
function exactAssigner(wanted: ChangelogRange[]): PartitionAssigner {
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

/**
 * Reads changelog partitions with a consumer of a private group whose assigner hands it exactly those
 * partitions (kafkajs has no manual `assign()`), then seeks each to its start offset.
 */
export class KafkajsChangelogReader implements ChangelogReaderPort {
  private consumer: Consumer | undefined;
  private closed = false;
  /** Reads run one at a time, each in a group of its own, so that they never rebalance each other. */
  private queue: Promise<void> = Promise.resolve();
  private reads = 0;

  constructor(
    private readonly kafka: Kafka,
    private readonly groupId: string,
    private readonly retry: NonNullable<KafkaConfig['retry']>,
  ) {}

  read(
    ranges: ChangelogRange[],
    onBatch: (range: ChangelogRange, records: ConsumedRecord[]) => Promise<void>,
  ): Promise<void> {
    const run = this.queue.then(() => this.readNow(ranges, onBatch));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async readNow(
    ranges: ChangelogRange[],
    onBatch: (range: ChangelogRange, records: ConsumedRecord[]) => Promise<void>,
  ): Promise<void> {
    const pending = ranges.filter((r) => r.startOffset < r.endOffset);
    if (pending.length === 0) return;
    if (this.closed) throw new Error('the changelog reader is closed');
    const byKey = new Map(pending.map((r) => [`${r.topic}:${r.partition}`, r]));
    const remaining = new Set(byKey.keys());
    const consumer = this.kafka.consumer({
      groupId: `${this.groupId}.${this.reads++}`,
      partitionAssigners: [exactAssigner(pending)],
      allowAutoTopicCreation: false,
      maxBytes: 64 * 1024 * 1024,
      maxBytesPerPartition: 16 * 1024 * 1024,
      maxWaitTimeInMs: 100,
      retry: { ...this.retry, restartOnFailure: async () => false },
    });
    this.consumer = consumer;
    let finish: () => void = () => undefined;
    let fail: (err: unknown) => void = () => undefined;
    const done = new Promise<void>((resolve, reject) => {
      finish = resolve;
      fail = reject;
    });
    let failed = false;
    consumer.on(consumer.events.CRASH, (e) => fail(e.payload.error));
    // Emitted after each batch, also for batches kafkajs does not hand over because they hold only control
    // records (transaction markers) or aborted records; its lastOffset counts those too.
    consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
      const key = `${e.payload.topic}:${e.payload.partition}`;
      const range = byKey.get(key);
      if (failed || range === undefined || !remaining.has(key)) return;
      if (BigInt(e.payload.lastOffset) >= range.endOffset - 1n) {
        remaining.delete(key);
        if (remaining.size === 0) finish();
      }
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [...new Set(pending.map((r) => r.topic))], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
          const key = `${batch.topic}:${batch.partition}`;
          const range = byKey.get(key);
          if (failed || range === undefined || !remaining.has(key)) return;
          const records: ConsumedRecord[] = [];
          for (const m of batch.messages) {
            const offset = BigInt(m.offset);
            if (offset < range.startOffset) continue; // fetched before the seek took effect
            if (offset >= range.endOffset) break;
            records.push(toConsumed(m));
          }
          try {
            if (records.length > 0) await onBatch(range, records);
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
      for (const r of pending)
        consumer.seek({ topic: r.topic, partition: r.partition, offset: r.startOffset.toString() });
      await done;
    } finally {
      this.consumer = undefined;
      await consumer.disconnect().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.consumer?.disconnect().catch(() => undefined);
  }
}
