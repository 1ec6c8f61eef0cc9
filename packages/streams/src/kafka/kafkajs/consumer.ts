// The port's group consumer over a kafkajs Consumer: batches, manual offsets, group joins with assignment bytes.

import type { Batch, Consumer } from '#kafkajs';
import type {
  BatchHandler,
  ConsumerGroupMetadata,
  ConsumerOptions,
  ConsumerPort,
  TopicPartitionOffset,
} from '../port.js';
import { toConsumed } from './conversions.js';
import { commitError } from './errors.js';

/**
 * True when a fetch returned no entry at all (no record, marker or aborted record): kafkajs then reports the high
 * watermark - 1 as its last offset. `isEmptyIncludingFiltered` is a kafkajs `Batch` method its types leave out.
 */
function returnedNothing(batch: Batch): boolean {
  return (batch as Batch & { isEmptyIncludingFiltered(): boolean }).isEmptyIncludingFiltered();
}

export class KafkajsConsumer implements ConsumerPort {
  private closed = false;
  private subscribed: string[] = [];
  private group: ConsumerGroupMetadata;

  constructor(
    private readonly consumer: Consumer,
    private readonly options: ConsumerOptions,
  ) {
    const { groupId, groupInstanceId } = options;
    this.group = { groupId, generationId: -1, memberId: '', ...(groupInstanceId ? { groupInstanceId } : {}) };
    const { GROUP_JOIN, CRASH, COORDINATOR_WAIT, JOIN_REQUEST } = consumer.events;
    // Emitted by the patched kafkajs while a join waits for a loading or unavailable coordinator.
    consumer.on(COORDINATOR_WAIT, ({ payload }) =>
      options.onCoordinatorWait?.({
        reason: payload.error,
        attempt: payload.retryCount + 1,
        retryInMs: payload.retryTime,
      }),
    );
    // Emitted by the patched kafkajs once it found the coordinator, before each JoinGroup.
    consumer.on(JOIN_REQUEST, ({ payload }) =>
      options.onJoinRequest?.({ rebalanceTimeoutMs: payload.rebalanceTimeout }),
    );
    consumer.on(GROUP_JOIN, (event) => {
      const { generationId, memberId } = event.payload;
      this.group = { ...this.group, generationId, memberId };
      const assigned: { topic: string; partition: number }[] = [];
      for (const [topic, partitions] of Object.entries(event.payload.memberAssignment)) {
        for (const partition of partitions) assigned.push({ topic, partition });
      }
      options.onGroupJoin?.({
        assigned,
        generationId: event.payload.generationId,
        memberId: event.payload.memberId,
        // Handed over by the patched kafkajs (docs/kafkajs-patch.md); null when the leader wrote none.
        userData: event.payload.memberAssignmentUserData,
      });
    });
    consumer.on(CRASH, (event) => {
      if (!event.payload.restart) options.onCrash?.(event.payload.error);
    });
  }

  connect(): Promise<void> {
    return this.consumer.connect();
  }

  groupMetadata(): ConsumerGroupMetadata {
    return this.group;
  }

  async subscribe(topics: string[]): Promise<void> {
    this.subscribed = topics;
    await this.consumer.subscribe({ topics, fromBeginning: this.options.fromBeginning });
  }

  run(handler: BatchHandler): Promise<void> {
    if (this.subscribed.length === 0) throw new Error('subscribe before run');
    return this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      // Patched kafkajs (docs/kafkajs-patch.md): fetches that found no records are handed over too.
      eachBatchIncludeEmpty: this.options.emptyBatches === true,
      ...(this.options.beforeRejoin === undefined ? {} : { beforeRejoin: this.options.beforeRejoin }),
      eachBatch: async ({ batch, heartbeat, isRunning, isStale, resolveOffset }) => {
        const records = batch.messages.map(toConsumed);
        await handler(
          {
            topic: batch.topic,
            partition: batch.partition,
            records,
            highWatermark: batch.highWatermark,
            lastOffset: batch.lastOffset(),
            ...(returnedNothing(batch) ? {} : { fetchedThrough: batch.lastOffset() }),
          },
          { heartbeat, markConsumed: resolveOffset, isActive: () => isRunning() && !isStale() },
        );
      },
    });
  }

  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    try {
      await this.consumer.commitOffsets(offsets.map((o) => ({ ...o })));
    } catch (err) {
      throw commitError(err);
    }
  }

  stop(options: { leaveGroup?: boolean } = {}): Promise<void> {
    return this.consumer.stop(options);
  }

  requestRejoin(): void {
    this.consumer.requestRejoin();
  }

  pause(partitions: readonly { topic: string; partition: number }[]): void {
    this.consumer.pause(byTopic(partitions));
  }

  resume(partitions: readonly { topic: string; partition: number }[]): void {
    this.consumer.resume(byTopic(partitions));
  }

  async close(options: { leaveGroup?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.consumer.disconnect(options);
  }
}

function byTopic(
  partitions: readonly { topic: string; partition: number }[],
): { topic: string; partitions: number[] }[] {
  const out = new Map<string, number[]>();
  for (const { topic, partition } of partitions) out.set(topic, [...(out.get(topic) ?? []), partition]);
  return [...out].map(([topic, ps]) => ({ topic, partitions: ps }));
}
