// The in-memory admin client: partition counts and offsets, topic configs, CreateTopics with the broker's
// validation, and DeleteRecords.

import type { AdminPort, PartitionOffsets, TopicSpec } from '../port.js';
import type { MemoryKafkaCluster } from './cluster.js';
import { kafkaError } from './errors.js';
import { ClientLifecycle } from './lifecycle.js';
import { validateTopicSpec } from './topic.js';

export class MemoryAdmin implements AdminPort {
  private readonly lifecycle = new ClientLifecycle('admin', 'admin');

  constructor(private readonly cluster: MemoryKafkaCluster) {
    cluster.register(this.lifecycle);
  }

  async connect(): Promise<void> {
    await this.cluster.faults.apply('connect', ['admin']);
    this.lifecycle.connect();
  }

  /** `low` is the log start, `high` the last stable offset (ListOffsets is read_committed, as kafkajs sends it). */
  async partitionOffsets(topic: string): Promise<PartitionOffsets[]> {
    this.lifecycle.assertConnected();
    return this.cluster.topic(topic).partitions.map((log, partition) => ({
      partition,
      low: log.logStartOffset,
      high: log.lastStableOffset,
    }));
  }

  async partitionCounts(topics: string[]): Promise<Map<string, number>> {
    this.lifecycle.assertConnected();
    const counts = new Map<string, number>();
    for (const t of topics) if (this.cluster.hasTopic(t)) counts.set(t, this.cluster.partitionCount(t));
    return counts;
  }

  /** OffsetFetch: the group's committed offsets on `topics`, keyed `topic:partition`. */
  async committedOffsets(groupId: string, topics: string[]): Promise<Map<string, bigint>> {
    this.lifecycle.assertConnected();
    const wanted = new Set(topics);
    const out = new Map<string, bigint>();
    for (const [key, offset] of this.cluster.committedOffsets(groupId)) {
      if (wanted.has(key.slice(0, key.lastIndexOf(':')))) out.set(key, offset);
    }
    return out;
  }

  /** DescribeConfigs of topics: the named configs each existing topic has set (topics that do not exist are absent). */
  async topicConfigs(topics: string[], names: string[]): Promise<Map<string, Record<string, string>>> {
    this.lifecycle.assertConnected();
    const out = new Map<string, Record<string, string>>();
    for (const t of topics) {
      if (!this.cluster.hasTopic(t)) continue;
      const config = this.cluster.topicConfig(t);
      out.set(t, Object.fromEntries(names.flatMap((n) => (config[n] === undefined ? [] : [[n, config[n]]]))));
    }
    return out;
  }

  /** Validates every spec first; a topic that exists already is left as it is, without an error. */
  async createTopics(topics: TopicSpec[]): Promise<void> {
    this.lifecycle.assertConnected();
    const names = new Set<string>();
    for (const spec of topics) {
      validateTopicSpec(spec);
      if (names.has(spec.topic)) throw kafkaError('INVALID_REQUEST', `topic ${spec.topic} appears twice`);
      names.add(spec.topic);
    }
    for (const spec of topics) this.cluster.createTopic(spec);
  }

  /**
   * DeleteRecords: moves each partition's log start up to `offset` (-1: the high watermark, as in Kafka). All
   * partitions are checked before any moves; an offset past the log end is OFFSET_OUT_OF_RANGE.
   */
  async deleteRecords(topic: string, partitions: { partition: number; offset: string }[]): Promise<void> {
    this.lifecycle.assertConnected();
    const moves = partitions.map(({ partition, offset }) => {
      const log = this.cluster.partition(topic, partition);
      const to = offset === '-1' ? log.highWatermark : BigInt(offset);
      if (to < 0n || to > log.highWatermark) {
        throw kafkaError(
          'OFFSET_OUT_OF_RANGE',
          `${topic}-${partition}: cannot delete before ${offset}, the log ends at ${log.highWatermark}`,
        );
      }
      return { partition, to };
    });
    for (const { partition, to } of moves) this.cluster.deleteRecords(topic, partition, to);
  }

  async close(): Promise<void> {
    if (this.lifecycle.close()) this.cluster.touch();
  }
}
