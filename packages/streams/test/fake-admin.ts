// An in-memory AdminPort for unit tests: topics whose partition starts and ends the test sets.
import type { AdminPort, PartitionOffsets, TopicSpec } from '../src/kafka/port.js';

/** An admin whose changelog partitions have the starts and ends the test sets. */
export class FakeAdmin implements AdminPort {
  readonly offsets = new Map<string, PartitionOffsets[]>();

  set(topic: string, ...ranges: [low: number, high: number][]): void {
    this.offsets.set(
      topic,
      ranges.map(([low, high], partition) => ({ partition, low: BigInt(low), high: BigInt(high) })),
    );
  }

  async connect(): Promise<void> {}
  async partitionOffsets(topic: string): Promise<PartitionOffsets[]> {
    return this.offsets.get(topic) ?? [];
  }
  async partitionCounts(topics: string[]): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const t of topics) {
      const o = this.offsets.get(t);
      if (o !== undefined) counts.set(t, o.length);
    }
    return counts;
  }
  async createTopics(_topics: TopicSpec[]): Promise<void> {}
  /** Committed offsets of the (one) group, keyed `topic:partition`. */
  readonly committed = new Map<string, bigint>();

  async committedOffsets(_groupId: string, topics: string[]): Promise<Map<string, bigint>> {
    return new Map([...this.committed].filter(([key]) => topics.some((t) => key.startsWith(`${t}:`))));
  }
  async close(): Promise<void> {}
}
