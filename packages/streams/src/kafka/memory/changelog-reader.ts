// The in-memory changelog reader: reads exact offset ranges of partitions, outside any group, read_committed
// (aborted records and markers skipped), waiting at the last stable offset until open transactions end.

import {
  type ChangelogRange,
  type ChangelogReaderPort,
  ChangelogTruncated,
  type ConsumedRecord,
} from '../port.js';
import type { MemoryKafkaCluster } from './cluster.js';
import { ClientLifecycle } from './lifecycle.js';
import { Signal } from './signal.js';

export class MemoryChangelogReader implements ChangelogReaderPort {
  private readonly lifecycle: ClientLifecycle;
  /** One signal per running read, so that concurrent reads each get woken. */
  private readonly reads = new Set<Signal>();

  constructor(
    private readonly cluster: MemoryKafkaCluster,
    groupId: string,
  ) {
    this.lifecycle = new ClientLifecycle('changelog-reader', groupId);
    this.lifecycle.connect();
    cluster.register(this.lifecycle);
  }

  /** Reads each range in turn; a range whose unread records were deleted fails with ChangelogTruncated. */
  async read(
    ranges: ChangelogRange[],
    onBatch: (range: ChangelogRange, records: ConsumedRecord[]) => Promise<void>,
  ): Promise<void> {
    const pending = ranges.filter((r) => r.startOffset < r.endOffset);
    if (pending.length === 0) return;
    this.lifecycle.assertConnected();
    await this.cluster.faults.apply('read', [...new Set(pending.map((r) => r.topic))]);
    const signal = new Signal();
    this.reads.add(signal);
    const unwatch = this.cluster.watch(() => signal.wake());
    try {
      for (const range of pending) await this.readRange(range, signal, onBatch);
    } finally {
      unwatch();
      this.reads.delete(signal);
    }
  }

  private async readRange(
    range: ChangelogRange,
    signal: Signal,
    onBatch: (range: ChangelogRange, records: ConsumedRecord[]) => Promise<void>,
  ): Promise<void> {
    const log = this.cluster.partition(range.topic, range.partition);
    let position = range.startOffset;
    while (position < range.endOffset) {
      this.lifecycle.assertConnected();
      if (position < log.logStartOffset) throw new ChangelogTruncated(range.topic, range.partition);
      if (position >= log.lastStableOffset) {
        // The range reaches into an open transaction or past the log end: wait for the log to move.
        await signal.wait();
        continue;
      }
      const read = log.read(position, this.cluster.maxBatchRecords, 'read_committed', range.endOffset);
      position = read.next;
      this.cluster.touch();
      if (read.records.length > 0) await onBatch(range, read.records);
    }
  }

  /** Closes the reader; a read waiting for the log fails. */
  async close(): Promise<void> {
    if (this.lifecycle.close()) {
      for (const signal of this.reads) signal.wake();
      this.cluster.touch();
    }
  }
}
