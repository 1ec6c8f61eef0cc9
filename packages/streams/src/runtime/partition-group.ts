// The buffered input of one task: a queue per source partition, drained in timestamp order across partitions.
import type { ConsumedRecord } from '../kafka/port.js';

export interface QueuedRecord {
  topic: string;
  record: ConsumedRecord;
  /** The timestamp the topology sees (from the timestamp extractor). */
  timestamp: number;
}

class RecordQueue {
  private items: QueuedRecord[] = [];
  private head = 0;

  push(items: QueuedRecord[]): void {
    if (this.head > 0 && this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    }
    for (const item of items) this.items.push(item);
  }

  peek(): QueuedRecord | undefined {
    return this.items[this.head];
  }

  shift(): QueuedRecord | undefined {
    const item = this.items[this.head];
    if (item !== undefined) this.head++;
    return item;
  }

  get size(): number {
    return this.items.length - this.head;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

export class PartitionGroup {
  private readonly queues = new Map<string, RecordQueue>();

  add(topic: string, items: QueuedRecord[]): void {
    let queue = this.queues.get(topic);
    if (!queue) {
      queue = new RecordQueue();
      this.queues.set(topic, queue);
    }
    queue.push(items);
  }

  /**
   * The next record: the head with the lowest timestamp among the non-empty queues (ties go to the topic added
   * first). Order within a partition is always kept.
   */
  next(): QueuedRecord | undefined {
    if (this.queues.size === 1) return this.queues.values().next().value?.shift();
    let best: RecordQueue | undefined;
    let bestTs = Number.POSITIVE_INFINITY;
    for (const queue of this.queues.values()) {
      const head = queue.peek();
      if (head !== undefined && head.timestamp < bestTs) {
        best = queue;
        bestTs = head.timestamp;
      }
    }
    return best?.shift();
  }

  get buffered(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.size;
    return n;
  }

  /** Drops what is buffered for `topic` (its partition was revoked) or for all topics. */
  clear(topic?: string): void {
    if (topic === undefined) for (const q of this.queues.values()) q.clear();
    else this.queues.get(topic)?.clear();
  }
}
