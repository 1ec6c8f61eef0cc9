// Records what one consumer lives through in its group: joins, heartbeats, crashes and the partitions it reads.
import type { Consumer, ConsumerCrashEvent, ConsumerGroupJoinEvent } from 'kafkajs';

export type JoinPayload = ConsumerGroupJoinEvent['payload'];
export type CrashPayload = ConsumerCrashEvent['payload'];

export class GroupObserver {
  readonly joins: JoinPayload[] = [];
  readonly crashes: CrashPayload[] = [];
  heartbeats = 0;
  /** partition → values consumed, filled by `eachMessage` (see `received`). */
  readonly received = new Map<number, string[]>();

  constructor(readonly consumer: Consumer) {
    consumer.on(consumer.events.GROUP_JOIN, (e) => this.joins.push(e.payload));
    consumer.on(consumer.events.HEARTBEAT, () => {
      this.heartbeats += 1;
    });
    consumer.on(consumer.events.CRASH, (e) => this.crashes.push(e.payload));
  }

  get lastJoin(): JoinPayload | undefined {
    return this.joins.at(-1);
  }

  /** Partitions of `topic` in the last join, sorted. */
  partitions(topic: string): number[] {
    return [...(this.lastJoin?.memberAssignment[topic] ?? [])].sort((a, b) => a - b);
  }

  /** An `eachMessage` handler that records each record's value under its partition. */
  readonly eachMessage = async ({
    partition,
    message,
  }: {
    partition: number;
    message: { value: Buffer | null };
  }): Promise<void> => {
    const values = this.received.get(partition) ?? [];
    values.push(message.value?.toString() ?? '');
    this.received.set(partition, values);
  };

  receivedPartitions(): number[] {
    return [...this.received.keys()].sort((a, b) => a - b);
  }
}
