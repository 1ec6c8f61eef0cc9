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
    // The batch handed over last, still being applied. kafkajs fetches again only once a batch handler returns, so
    // the handler returns as soon as the previous batch is applied and this one is handed over: the next fetch
    // overlaps this batch's store write. Batches are still handed over one at a time, in order.
    let applying: Promise<void> = Promise.resolve();
    try {
      await readUntil(
        consumer,
        starts,
        async (batch) => {
          const key = `${batch.topic}:${batch.partition}`;
          const range = byKey.get(key);
          if (range === undefined || !remaining.has(key)) return false;
          // Offsets rise within a batch: only its ends can lie outside the range (records fetched before the seek
          // took effect, or past the end), so most batches need no per-record offset check.
          const messages = batch.messages;
          let from = 0;
          let to = messages.length;
          while (from < to && BigInt(messages[from]!.offset) < range.startOffset) from++;
          while (to > from && BigInt(messages[to - 1]!.offset) >= range.endOffset) to--;
          const records: ConsumedRecord[] = new Array(to - from);
          for (let i = from; i < to; i++) records[i - from] = toConsumed(messages[i]!);
          await applying;
          if (records.length > 0) {
            applying = onBatch(range, records);
            // A failure surfaces at the next batch or after the last one; until then it must not count as unhandled.
            applying.catch(() => undefined);
          }
          return true;
        },
        done,
      );
    } catch (err) {
      // No store write may still run once the caller learns that the read failed.
      await applying.catch(() => undefined);
      throw err;
    } finally {
      this.consumer = undefined;
    }
    await applying;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.consumer?.disconnect().catch(() => undefined);
  }
}
