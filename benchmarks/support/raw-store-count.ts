// A second end-to-end baseline: the count written directly on kafkajs with the state Eddy's count keeps, a LevelDB
// store and a changelog topic, so that Eddy's ratio to it is what the library costs beyond that work.
import { ClassicLevel } from 'classic-level';
import type { Kafka, Message } from 'kafkajs';
import { baselineClients } from './raw-count.js';

/**
 * eachBatch → the count of each key from the writes since the last flush, else from LevelDB (`getSync`) → one
 * idempotent sendBatch per fetched batch with each new count to `output` (partitioned by key) → every 1 s each key
 * counted since the last flush sent once with its latest count to the compacted `<output>-changelog` (the input's
 * partition), the new counts written to LevelDB in one batch, then the offsets of the batches sent before it
 * committed. One LevelDB for all partitions. Resolves once `untilCommitted` (the caller's wait for the group to
 * commit all input) does, with the milliseconds taken.
 */
export async function rawKafkajsStoreCount(
  kafka: Kafka,
  { input, output, groupId, stateDir }: { input: string; output: string; groupId: string; stateDir: string },
  untilCommitted: (started: number) => Promise<void>,
): Promise<number> {
  const started = performance.now();
  const changelog = `${output}-changelog`;
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [meta] = (await admin.fetchTopicMetadata({ topics: [input] })).topics;
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        {
          topic: changelog,
          numPartitions: meta!.partitions.length,
          configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
        },
      ],
    });
  } finally {
    await admin.disconnect();
  }
  const db = new ClassicLevel<string, string>(stateDir, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  await db.open();
  const { producer, consumer } = baselineClients(kafka, groupId);
  // Counts written since the last flush, and those of a flush in progress.
  let pending = new Map<string, number>();
  let flushing = new Map<string, number>();
  /** Partition → the offset after the last batch whose records were sent. */
  const sent = new Map<number, string>();
  /** Key → its input partition (the changelog partition of its count). */
  const partitionOf = new Map<string, number>();
  const countOf = (key: string): number =>
    pending.get(key) ?? flushing.get(key) ?? Number(db.getSync(key) ?? 0);
  const commit = async (): Promise<void> => {
    const offsets = [...sent].map(([partition, offset]) => ({ topic: input, partition, offset }));
    flushing = pending;
    pending = new Map();
    if (flushing.size > 0) {
      const changes: Message[] = [];
      for (const [key, n] of flushing)
        changes.push({ key, value: String(n), partition: partitionOf.get(key)! });
      await producer.sendBatch({ acks: -1, topicMessages: [{ topic: changelog, messages: changes }] });
      const batch = db.batch();
      for (const [key, n] of flushing) batch.put(key, String(n));
      await batch.write();
    }
    flushing = new Map();
    if (offsets.length > 0) await consumer.commitOffsets(offsets);
  };
  let committing: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    committing = committing.then(commit).catch((error: unknown) => {
      process.stderr.write(`the commit failed: ${String(error)}\n`);
      process.exit(1);
    });
  }, 1_000);
  try {
    await producer.connect();
    await consumer.connect();
    await consumer.subscribe({ topics: [input], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
        if (batch.messages.length === 0) return;
        const outputs: Message[] = [];
        for (const m of batch.messages) {
          const key = m.key!.toString('utf8');
          m.value?.toString('utf8');
          const n = countOf(key) + 1;
          if (!pending.has(key)) partitionOf.set(key, batch.partition);
          pending.set(key, n);
          outputs.push({ key, value: String(n), timestamp: m.timestamp });
        }
        await producer.sendBatch({ acks: -1, topicMessages: [{ topic: output, messages: outputs }] });
        const last = batch.messages[batch.messages.length - 1]!.offset;
        // Moves kafkajs's fetch position on (with autoCommit off it commits nothing).
        resolveOffset(last);
        sent.set(batch.partition, (BigInt(last) + 1n).toString());
        await heartbeat();
      },
    });
    await untilCommitted(started);
    return performance.now() - started;
  } finally {
    clearInterval(timer);
    await committing;
    await consumer.disconnect();
    await producer.disconnect();
    await db.close();
  }
}
