// The buffered input of one task: a queue per source partition, drained in timestamp order across partitions,
// with the rule for when a task may process while one of its inputs has nothing buffered (`maxTaskIdleMs`).
import type { ConsumedRecord } from '../kafka/port.js';

export interface QueuedRecord {
  topic: string;
  record: ConsumedRecord;
  /** The timestamp the topology sees (from the timestamp extractor). */
  timestamp: number;
}

/**
 * The longest wait for an input whose log end was ahead of its fetched records. The records normally arrive with
 * the next fetch; this bound covers a log end that only transaction markers stand between, which are never
 * delivered as records, so that a task never waits forever.
 */
export const LAGGING_INPUT_WAIT_MS = 5_000;

/** A timestamp the merge cannot order (NaN, ±Infinity, negative): the record goes first, to its error path. */
function invalid(timestamp: number): boolean {
  return !(timestamp >= 0 && timestamp < Number.POSITIVE_INFINITY);
}

class RecordQueue {
  private items: QueuedRecord[] = [];
  private head = 0;
  /** The offset after the last record added; undefined until records arrive. */
  fetchedUpTo: bigint | undefined;
  /** The partition's log end as of the last fetch; undefined while unknown. */
  logEnd: bigint | undefined;

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

  /** True when the log is known to hold records this queue has not received yet. */
  get lagging(): boolean {
    return this.logEnd !== undefined && this.fetchedUpTo !== undefined && this.logEnd > this.fetchedUpTo;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
    this.fetchedUpTo = undefined;
    this.logEnd = undefined;
  }
}

export class PartitionGroup {
  private readonly queues = new Map<string, RecordQueue>();
  private readonly single: RecordQueue | undefined;
  /** When a task waiting for a caught-up empty input may stop waiting; undefined while not waiting. */
  private idleDeadline: number | undefined;
  /** When a task waiting for the fetch of an input that is behind its log end stops waiting. */
  private lagDeadline: number | undefined;

  /**
   * `topics`: every input of the task, known from the start so an input that has not delivered yet is waited for.
   * `maxTaskIdleMs`: -1 never waits; 0 waits only for records known to be in the log; more also waits that long
   * for caught-up inputs to receive new records.
   */
  constructor(
    topics: Iterable<string>,
    private readonly maxTaskIdleMs = 0,
  ) {
    for (const topic of topics) this.queues.set(topic, new RecordQueue());
    this.single = this.queues.size === 1 ? this.queues.values().next().value : undefined;
  }

  /**
   * Buffers records of one input. `logEnd`: the partition's end offset (high watermark) as of that fetch;
   * `lastFetched`: the last offset the fetch covered, which may lie after the last record (transaction markers,
   * aborted records).
   */
  add(topic: string, items: QueuedRecord[], logEnd?: bigint, lastFetched?: bigint): void {
    let queue = this.queues.get(topic);
    if (!queue) {
      queue = new RecordQueue();
      this.queues.set(topic, queue);
    }
    queue.push(items);
    const last = items[items.length - 1];
    let next = last === undefined ? undefined : BigInt(last.record.offset) + 1n;
    if (lastFetched !== undefined && (next === undefined || lastFetched + 1n > next)) next = lastFetched + 1n;
    if (next !== undefined && (queue.fetchedUpTo === undefined || next > queue.fetchedUpTo))
      queue.fetchedUpTo = next;
    if (logEnd !== undefined) queue.logEnd = logEnd;
  }

  /**
   * Whether the task may take its next record at wall-clock time `now`: every input has buffered records; or the
   * empty ones are caught up (nothing more in the log as far as known) and the task has waited `maxTaskIdleMs`
   * for them. An input whose log is known to hold unfetched records is waited for (unless `maxTaskIdleMs` is -1):
   * the fetch brings them (bounded by LAGGING_INPUT_WAIT_MS). A record with an invalid timestamp at a head is always
   * ready (it goes to its error path).
   */
  readyToProcess(now: number): boolean {
    if (this.single !== undefined) return this.single.size > 0;
    let buffered = false;
    let waitsForCaughtUp = false;
    let waitsForFetch = false;
    for (const queue of this.queues.values()) {
      const head = queue.peek();
      if (head !== undefined) {
        if (invalid(head.timestamp)) return true;
        buffered = true;
      } else if (queue.lagging && this.maxTaskIdleMs >= 0) {
        waitsForFetch = true;
      } else {
        waitsForCaughtUp = true;
      }
    }
    if (!buffered) return false;
    if (!waitsForFetch) {
      this.lagDeadline = undefined;
    } else {
      this.lagDeadline ??= now + LAGGING_INPUT_WAIT_MS;
      if (now < this.lagDeadline) {
        this.idleDeadline = undefined;
        return false;
      }
      waitsForCaughtUp = true;
    }
    if (!waitsForCaughtUp || this.maxTaskIdleMs <= 0) {
      this.idleDeadline = undefined;
      return true;
    }
    this.idleDeadline ??= now + this.maxTaskIdleMs;
    return now >= this.idleDeadline;
  }

  /** The wall-clock time at which a task now waiting for a caught-up input may go on; undefined if none. */
  get idleUntil(): number | undefined {
    return this.idleDeadline;
  }

  /**
   * The next record: a head with an invalid timestamp first, else the head with the lowest timestamp among the
   * non-empty queues (ties go to the input listed first). Order within a partition is always kept.
   */
  next(): QueuedRecord | undefined {
    if (this.single !== undefined) return this.single.shift();
    let best: RecordQueue | undefined;
    let bestTs = Number.POSITIVE_INFINITY;
    for (const queue of this.queues.values()) {
      const head = queue.peek();
      if (head === undefined) continue;
      if (invalid(head.timestamp)) return queue.shift();
      if (best === undefined || head.timestamp < bestTs) {
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

  /** Records buffered for one input. */
  bufferedOf(topic: string): number {
    return this.queues.get(topic)?.size ?? 0;
  }

  /** Drops what is buffered for `topic` (its partition was revoked) or for all topics. */
  clear(topic?: string): void {
    if (topic === undefined) for (const q of this.queues.values()) q.clear();
    else this.queues.get(topic)?.clear();
  }
}
