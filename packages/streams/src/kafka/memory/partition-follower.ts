// The in-memory partition follower: reads partitions from given offsets on, outside any group, read_committed,
// waiting for the logs to grow, until closed.

import {
  ChangelogTruncated,
  type FollowedBatch,
  type PartitionFollowerPort,
  type PartitionStart,
} from '../port.js';
import type { MemoryKafkaCluster } from './cluster.js';
import { ClientLifecycle } from './lifecycle.js';
import { Signal } from './signal.js';

export class MemoryPartitionFollower implements PartitionFollowerPort {
  private readonly lifecycle: ClientLifecycle;
  private readonly signal = new Signal();
  private following = false;

  constructor(
    private readonly cluster: MemoryKafkaCluster,
    groupId: string,
  ) {
    this.lifecycle = new ClientLifecycle('partition-follower', groupId);
    this.lifecycle.connect();
    cluster.register(this.lifecycle);
  }

  /** Reads until closed; an offset below a log's start fails with ChangelogTruncated. */
  async follow(starts: PartitionStart[], onBatch: (batch: FollowedBatch) => Promise<void>): Promise<void> {
    if (this.following) throw new Error('a partition follower follows only once');
    this.following = true;
    if (this.lifecycle.closed) return;
    const positions = starts.map((s) => ({ ...s }));
    const unwatch = this.cluster.watch(() => this.signal.wake());
    try {
      while (!this.lifecycle.closed) {
        let progressed = false;
        for (const p of positions) {
          const log = this.cluster.partition(p.topic, p.partition);
          if (p.offset < log.logStartOffset) throw new ChangelogTruncated(p.topic, p.partition);
          if (p.offset >= log.lastStableOffset) continue;
          const read = log.read(p.offset, this.cluster.maxBatchRecords, 'read_committed');
          p.offset = read.next;
          progressed = true;
          this.cluster.touch();
          if (read.records.length > 0) {
            await onBatch({ topic: p.topic, partition: p.partition, records: read.records });
          }
          if (this.lifecycle.closed) return;
        }
        if (!progressed) await this.signal.wait();
      }
    } finally {
      unwatch();
    }
  }

  async close(): Promise<void> {
    if (this.lifecycle.close()) {
      this.signal.wake();
      this.cluster.touch();
    }
  }
}
