// The buffered input of one task: a queue per source partition, drained in timestamp order across partitions,
// with the rule for when a task may process while one of its inputs has nothing buffered (`maxTaskIdleMs`).
import type { ConsumedRecord } from '../kafka/port.js';

export interface QueuedRecord {
  topic: string;
  record: ConsumedRecord;
  /** The timestamp the topology sees (from the timestamp extractor). */
  timestamp: number;
  /**
   * Set on a fetch's last record when the fetch went on past it (transaction markers, aborted records): the
   * consumed position moves to this offset once the record is processed.
   */
  through?: string;
}

/**
 * The longest wait for an empty input whose lag is not zero as far as the task knows: its log end was ahead of its
 * fetched records, or no fetch has reported on it yet. The next fetch of the partition normally ends the wait: it
 * brings records, or (caught up) nothing but the log end. This bound is for what no fetch answers: a log end that
 * only transaction markers stand between, a partition this consumer is not fetching, a client that does not report
 * empty fetches. Kafka Streams waits for an unknown lag without a bound; a task here never waits forever.
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

  /** The last buffered record; undefined when empty. */
  tail(): QueuedRecord | undefined {
    return this.size > 0 ? this.items[this.items.length - 1] : undefined;
  }

  /** False until a fetch said both how far it went and where the log ends: until then the lag is unknown. */
  get lagKnown(): boolean {
    return this.logEnd !== undefined && this.fetchedUpTo !== undefined;
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
  /** When a task waiting for the fetch of an input that is behind its log end, or not reported yet, stops waiting. */
  private lagDeadline: number | undefined;

  /**
   * `topics`: every input of the task, known from the start so an input that has not delivered yet is waited for.
   * `maxTaskIdleMs`: -1 never waits; 0 waits for inputs whose lag is unknown or above zero; more also waits that
   * long for caught-up inputs to receive new records.
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
   * aborted records). A fetch that found nothing new comes with no records and `lastFetched` = `logEnd` - 1: the
   * input is caught up. Until an input has been given both, its lag is unknown and, empty, it is waited for.
   * `fetchedThrough`: the last offset the fetch returned (records or not; absent when it returned nothing). Returns
   * that offset when nothing of the input is buffered: its position may move there at once.
   */
  add(
    topic: string,
    items: QueuedRecord[],
    logEnd?: bigint,
    lastFetched?: bigint,
    fetchedThrough?: bigint,
  ): bigint | undefined {
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
    if (fetchedThrough === undefined) return undefined;
    const tail = queue.tail();
    if (tail === undefined) return fetchedThrough;
    // Only markers or aborted records lie between the last buffered record and the end of this fetch.
    if (BigInt(tail.record.offset) < fetchedThrough) tail.through = fetchedThrough.toString();
    return undefined;
  }

  /**
   * Whether the task may take its next record at wall-clock time `now`, as Kafka Streams decides it: every input has
   * buffered records; or the empty ones are known to be caught up (a fetch reported their log end, and nothing
   * after what was fetched) and the task has waited `maxTaskIdleMs` for them. An empty input whose lag is unknown
   * (no fetch reported on it yet) or above zero (its log holds unfetched records) is waited for, unless
   * `maxTaskIdleMs` is -1: its fetch says more (bounded by LAGGING_INPUT_WAIT_MS). A record with an invalid
   * timestamp at a head is always ready (it goes to its error path).
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
      } else if (this.maxTaskIdleMs >= 0 && (!queue.lagKnown || queue.lagging)) {
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

  /** Per input with buffered records: the offsets of its first and last buffered record. */
  bufferedRanges(): { topic: string; from: string; to: string }[] {
    const out: { topic: string; from: string; to: string }[] = [];
    for (const [topic, q] of this.queues) {
      const head = q.peek();
      const tail = q.tail();
      if (head !== undefined && tail !== undefined)
        out.push({ topic, from: head.record.offset, to: tail.record.offset });
    }
    return out;
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
