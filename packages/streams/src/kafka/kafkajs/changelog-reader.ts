// Reads changelog partitions with kafkajs, which has no manual assign(): a private group whose assigner hands its
// one consumer exactly the partitions asked for.

import type { Consumer, Kafka, KafkaConfig } from '#kafkajs';
import {
  type ChangelogRange,
  type ChangelogReaderPort,
  ChangelogTruncated,
  type ConsumedRecord,
} from '../port.js';
import { toConsumed } from './conversions.js';
import { privateGroupConsumer, readUntil } from './private-group.js';

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
    const consumer = privateGroupConsumer(
      this.kafka,
      `${this.groupId}.${this.reads++}`,
      pending,
      this.retry,
      {
        maxBytes: 64 * 1024 * 1024,
        maxBytesPerPartition: 16 * 1024 * 1024,
        maxWaitTimeInMs: 100,
      },
    );
    this.consumer = consumer;
    let finish: () => void = () => undefined;
    let truncated: (err: Error) => void = () => undefined;
    const done = new Promise<void>((resolve, reject) => {
      finish = resolve;
      truncated = reject;
    });
    done.catch(() => undefined); // (awaited by readUntil; this only keeps an early rejection from counting as unhandled)
    // Without this the consumer would move to the log start and read on: the store would miss the deleted records
    // silently, or, when all of the range was deleted, wait forever for records that will not come.
    consumer.on(consumer.events.OFFSET_OUT_OF_RANGE, (e) => {
      const key = `${e.payload.topic}:${e.payload.partition}`;
      if (remaining.has(key)) truncated(new ChangelogTruncated(e.payload.topic, e.payload.partition));
    });
    // Emitted after each batch, also for batches kafkajs does not hand over because they hold only control
    // records (transaction markers) or aborted records; its lastOffset counts those too.
    consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
      const key = `${e.payload.topic}:${e.payload.partition}`;
      const range = byKey.get(key);
      if (range === undefined || !remaining.has(key)) return;
      if (BigInt(e.payload.lastOffset) >= range.endOffset - 1n) {
        remaining.delete(key);
        if (remaining.size === 0) finish();
      }
    });
    const starts = pending.map((r) => ({ ...r, offset: r.startOffset }));
    try {
      await readUntil(
        consumer,
        starts,
        async (batch) => {
          const key = `${batch.topic}:${batch.partition}`;
          const range = byKey.get(key);
          if (range === undefined || !remaining.has(key)) return false;
          const records: ConsumedRecord[] = [];
          for (const m of batch.messages) {
            const offset = BigInt(m.offset);
            if (offset < range.startOffset) continue; // fetched before the seek took effect
            if (offset >= range.endOffset) break;
            records.push(toConsumed(m));
          }
          if (records.length > 0) await onBatch(range, records);
          return true;
        },
        done,
      );
    } finally {
      this.consumer = undefined;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.consumer?.disconnect().catch(() => undefined);
  }
}
