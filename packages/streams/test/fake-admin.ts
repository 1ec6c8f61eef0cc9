// An in-memory AdminPort for unit tests: topics whose partition starts and ends (and configs) the test sets.
import type { AdminPort, PartitionOffsets, TopicSpec } from '../src/kafka/port.js';

/** An admin whose changelog partitions have the starts and ends the test sets. */
export class FakeAdmin implements AdminPort {
  readonly offsets = new Map<string, PartitionOffsets[]>();
  /** Topic configs the test sets (only explicitly set entries; no broker defaults). */
  readonly configs = new Map<string, Record<string, string>>();

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
  async topicConfigs(topics: string[], names: string[]): Promise<Map<string, Record<string, string>>> {
    const out = new Map<string, Record<string, string>>();
    for (const t of topics) {
      if (!this.offsets.has(t)) continue;
      const config = this.configs.get(t) ?? {};
      out.set(t, Object.fromEntries(names.filter((n) => n in config).map((n) => [n, config[n]!])));
    }
    return out;
  }
  async createTopics(_topics: TopicSpec[]): Promise<void> {}
  /** Moves the log start of each partition up to `offset`. */
  async deleteRecords(topic: string, partitions: { partition: number; offset: string }[]): Promise<void> {
    for (const { partition, offset } of partitions) {
      const o = this.offsets.get(topic)?.find((x) => x.partition === partition);
      if (o !== undefined && BigInt(offset) > o.low) o.low = BigInt(offset);
    }
  }
  /** Committed offsets of the (one) group, keyed `topic:partition`. */
  readonly committed = new Map<string, bigint>();

  async committedOffsets(_groupId: string, topics: string[]): Promise<Map<string, bigint>> {
    return new Map([...this.committed].filter(([key]) => topics.some((t) => key.startsWith(`${t}:`))));
  }
  async close(): Promise<void> {}
}
