// Follows partitions with kafkajs, which has no manual assign(): a private group whose assigner hands its one
// consumer exactly those partitions, sought to the requested offsets, read until closed.

import type { Consumer, Kafka, KafkaConfig } from '#kafkajs';
import {
  ChangelogTruncated,
  type FollowedBatch,
  type PartitionFollowerPort,
  type PartitionStart,
} from '../port.js';
import { toConsumed } from './conversions.js';
import { privateGroupConsumer, readUntil } from './private-group.js';

export class KafkajsPartitionFollower implements PartitionFollowerPort {
  private consumer: Consumer | undefined;
  private closed = false;
  private following = false;
  private stop: (() => void) | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly groupId: string,
    private readonly retry: NonNullable<KafkaConfig['retry']>,
  ) {}

  async follow(starts: PartitionStart[], onBatch: (batch: FollowedBatch) => Promise<void>): Promise<void> {
    if (this.following) throw new Error('a partition follower follows only once');
    this.following = true;
    let truncated: (err: Error) => void = () => undefined;
    const stopped = new Promise<void>((resolve, reject) => {
      this.stop = resolve;
      truncated = reject;
    });
    stopped.catch(() => undefined); // (awaited by readUntil; this only keeps an early rejection from counting as unhandled)
    if (this.closed) return;
    if (starts.length === 0) return stopped;
    // The next offset to hand over per partition: skips what a fetch before the seek, or a re-fetch, brings again.
    const next = new Map(starts.map((s) => [`${s.topic}:${s.partition}`, s.offset]));
    const consumer = privateGroupConsumer(this.kafka, this.groupId, starts, this.retry, {
      maxWaitTimeInMs: 250,
    });
    this.consumer = consumer;
    // Without this the consumer would jump to the log's end and follow on from there: the stores would miss the
    // records in between, and keep what the deleted ones said, without a word.
    consumer.on(consumer.events.OFFSET_OUT_OF_RANGE, (e) => {
      const key = `${e.payload.topic}:${e.payload.partition}`;
      if (next.has(key)) truncated(new ChangelogTruncated(e.payload.topic, e.payload.partition));
    });
    try {
      await readUntil(
        consumer,
        starts,
        async (batch) => {
          const key = `${batch.topic}:${batch.partition}`;
          const from = next.get(key);
          if (this.closed || from === undefined) return false;
          const records = batch.messages.filter((m) => BigInt(m.offset) >= from).map(toConsumed);
          const last = records[records.length - 1];
          if (last !== undefined) {
            await onBatch({ topic: batch.topic, partition: batch.partition, records });
            next.set(key, BigInt(last.offset) + 1n);
          }
          return true;
        },
        stopped,
      );
    } finally {
      this.consumer = undefined;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stop?.();
    await this.consumer?.disconnect().catch(() => undefined);
  }
}
