// Watching a benchmark pipeline from outside through the broker: its group's committed offsets, and its output read
// back as a read_committed consumer.
import { randomUUID } from 'node:crypto';
import type { Admin, Kafka, KafkaMessage } from 'kafkajs';

export interface CommittedToEnd {
  groupId: string;
  topic: string;
  /** When the pipeline started (`performance.now()`), for the timeout. */
  startedAt: number;
  timeoutMs: number;
  /** Called on every poll; throws to give up early (e.g. the pipeline's process died). */
  check?: () => void;
}

/** Resolves once the group's committed offsets reach the end offsets of every partition of the topic. */
export async function committedToEnd(admin: Admin, watch: CommittedToEnd): Promise<void> {
  const { groupId, topic, startedAt, timeoutMs } = watch;
  const ends = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, o.high]));
  for (;;) {
    watch.check?.();
    const committed = await committedOffsets(admin, groupId, topic);
    const done = committed.filter((p) => p.offset === ends.get(p.partition)).length;
    if (done === ends.size) return;
    if (performance.now() - startedAt > timeoutMs) {
      const got = committed.map((p) => `${p.partition}: ${p.offset}/${ends.get(p.partition)}`);
      throw new Error(`${groupId} did not commit all of ${topic} within ${timeoutMs} ms (${got.join(', ')})`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The group's committed offsets of the topic; none while the broker's group coordinator is not ready (a broker that
 * just started loads its offsets topic first), which kafkajs reports as retriable errors.
 */
async function committedOffsets(
  admin: Admin,
  groupId: string,
  topic: string,
): Promise<{ partition: number; offset: string }[]> {
  try {
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return committed?.partitions ?? [];
  } catch (error) {
    if ((error as { retriable?: boolean }).retriable === true) return [];
    throw error;
  }
}

/**
 * Reads a topic to its end offsets as a read_committed consumer of a throw-away group `<groupPrefix>-read-…` and
 * returns the number of records seen; offset ranges would also count transaction markers and the records of
 * aborted transactions. `onBatch` sees each fetched batch.
 */
export async function readCommitted(
  kafka: Kafka,
  admin: Admin,
  topic: string,
  groupPrefix: string,
  onBatch: (messages: KafkaMessage[]) => void = () => {},
  timeoutMs = 120_000,
): Promise<number> {
  const ends = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, BigInt(o.high)]));
  const consumer = kafka.consumer({
    groupId: `${groupPrefix}-read-${randomUUID().slice(0, 8)}`,
    readUncommitted: false,
    maxWaitTimeInMs: 250,
    maxBytes: 64 * 1024 * 1024,
  });
  let read = 0;
  const reached = new Set<number>();
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const done = new Promise<void>((resolve) => {
      const check = (partition: number, next: bigint) => {
        if (next >= (ends.get(partition) ?? 0n)) reached.add(partition);
        if (reached.size === ends.size) resolve();
      };
      for (const [partition, end] of ends) if (end === 0n) check(partition, 0n);
      // Also emitted for fetches that hold only transaction markers, which never reach eachBatch.
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        check(payload.partition, BigInt(payload.lastOffset) + 1n);
      });
      void consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          read += batch.messages.length;
          onBatch(batch.messages);
        },
      });
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`reading ${topic} took over ${timeoutMs} ms`)), timeoutMs);
    });
    await Promise.race([done, timeout]).finally(() => clearTimeout(timer));
    return read;
  } finally {
    await consumer.disconnect();
  }
}
