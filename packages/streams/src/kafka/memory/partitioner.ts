// Where a produced record goes: its explicit partition, murmur2 of its key (the Java client's default
// partitioner), or round robin for records without a key; and with which timestamp.

import { partitionForKey } from '@eddy/assignor';
import type { OutgoingRecord } from '../port.js';
import type { MemoryKafkaCluster } from './cluster.js';
import { kafkaError } from './errors.js';
import type { AppendedRecord, PartitionLog } from './partition-log.js';

export interface PlacedRecord {
  topic: string;
  partition: number;
  log: PartitionLog;
  record: AppendedRecord;
}

export class DefaultPartitioner {
  private readonly counters = new Map<string, number>();

  partition(topic: string, key: Buffer | null, partitions: number): number {
    if (key !== null) return partitionForKey(key, partitions);
    const n = this.counters.get(topic) ?? 0;
    this.counters.set(topic, n + 1);
    return n % partitions;
  }

  /** Places every record, or throws (UNKNOWN_TOPIC_OR_PARTITION) before any is written. */
  place(cluster: MemoryKafkaCluster, records: OutgoingRecord[]): PlacedRecord[] {
    for (const r of records) {
      const topic = cluster.topic(r.topic);
      if (r.partition !== undefined) topic.partition(r.partition);
    }
    const now = cluster.now();
    return records.map((r) => {
      const topic = cluster.topic(r.topic);
      const partition = r.partition ?? this.partition(r.topic, r.key, topic.partitions.length);
      if (r.timestamp !== undefined && !Number.isFinite(r.timestamp)) {
        throw kafkaError('INVALID_REQUEST', `record timestamp ${r.timestamp} is not a number`);
      }
      return {
        topic: r.topic,
        partition,
        log: topic.partition(partition),
        record: {
          key: r.key,
          value: r.value,
          timestamp: topic.logAppendTime ? now : (r.timestamp ?? now),
          headers: r.headers,
        },
      };
    });
  }
}

/** Collects the offset of the last record written to each partition, keyed `topic:partition`. */
export function recordLastOffset(last: Map<string, bigint>, placed: PlacedRecord, offset: bigint): void {
  last.set(`${placed.topic}:${placed.partition}`, offset);
}
