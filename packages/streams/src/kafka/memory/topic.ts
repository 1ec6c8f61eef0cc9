// A topic of the in-memory Kafka: its partitions and configs, and the checks CreateTopics applies to a spec.

import type { TopicSpec } from '../port.js';
import { kafkaError } from './errors.js';
import { PartitionLog } from './partition-log.js';

/** Topic configs the in-memory broker accepts (a subset of Kafka's); any other name is INVALID_CONFIG. */
const CONFIG_VALUES: Record<string, (v: string) => boolean> = {
  'cleanup.policy': (v) => ['delete', 'compact', 'compact,delete', 'delete,compact'].includes(v),
  'message.timestamp.type': (v) => v === 'CreateTime' || v === 'LogAppendTime',
  'compression.type': (v) =>
    ['producer', 'none', 'gzip', 'snappy', 'lz4', 'zstd', 'uncompressed'].includes(v),
  'unclean.leader.election.enable': (v) => v === 'true' || v === 'false',
  'min.cleanable.dirty.ratio': (v) => Number(v) >= 0 && Number(v) <= 1,
};
const LONG_CONFIGS = [
  'retention.ms',
  'retention.bytes',
  'segment.bytes',
  'segment.ms',
  'delete.retention.ms',
  'min.compaction.lag.ms',
  'max.compaction.lag.ms',
  'max.message.bytes',
  'min.insync.replicas',
  'message.timestamp.difference.max.ms',
  'file.delete.delay.ms',
  'flush.messages',
  'flush.ms',
];
const isLong = (v: string) => /^-?\d+$/.test(v);

/** Kafka's rule for topic names. */
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

/** Checks a CreateTopics spec as the broker does (one broker: replication factor 1 or the default). */
export function validateTopicSpec(spec: TopicSpec): void {
  const { topic } = spec;
  if (!TOPIC_NAME.test(topic) || topic === '.' || topic === '..') {
    throw kafkaError('INVALID_TOPIC_EXCEPTION', `invalid topic name '${topic}'`);
  }
  if (!Number.isInteger(spec.partitions) || spec.partitions < 1) {
    throw kafkaError(
      'INVALID_PARTITIONS',
      `topic ${topic}: partitions must be at least 1, not ${spec.partitions}`,
    );
  }
  const rf = spec.replicationFactor ?? -1;
  if (rf !== -1 && rf !== 1) {
    throw kafkaError('INVALID_REPLICATION_FACTOR', `topic ${topic}: replication factor ${rf} > 1 broker`);
  }
  for (const [name, value] of Object.entries(spec.config ?? {})) {
    const check = CONFIG_VALUES[name] ?? (LONG_CONFIGS.includes(name) ? isLong : undefined);
    if (check === undefined) throw kafkaError('INVALID_CONFIG', `topic ${topic}: unknown config ${name}`);
    if (!check(value)) throw kafkaError('INVALID_CONFIG', `topic ${topic}: invalid value ${name}=${value}`);
  }
}

export class Topic {
  readonly partitions: PartitionLog[];
  readonly config: Record<string, string>;

  constructor(
    readonly name: string,
    partitions: number,
    config: Record<string, string> = {},
  ) {
    this.partitions = Array.from({ length: partitions }, () => new PartitionLog());
    this.config = { ...config };
  }

  partition(partition: number): PartitionLog {
    const log = this.partitions[partition];
    if (log === undefined) {
      throw kafkaError('UNKNOWN_TOPIC_OR_PARTITION', `topic ${this.name} has no partition ${partition}`);
    }
    return log;
  }

  /** Whether the broker stamps records with its own time (LogAppendTime) instead of the producer's. */
  get logAppendTime(): boolean {
    return this.config['message.timestamp.type'] === 'LogAppendTime';
  }
}
