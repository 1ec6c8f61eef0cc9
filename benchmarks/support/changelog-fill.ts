// Pre-fills a changelog topic with distinct count-store keys and source-mark headers, as the app's flushes would.
import { encodeSourceMarks, SOURCE_MARKS_HEADER } from '@eddy/state';
import type { Admin, Kafka, Message } from 'kafkajs';

// Below the broker's 1 MiB message (record batch) limit.
const SEND_BATCH = 5_000;
const SENDS_IN_FLIGHT = 8;

export interface ChangelogFill {
  /** The changelog topic to write to (it must exist). */
  topic: string;
  records: number;
  /** The source topic (partition 0) the records' marks name. */
  sourceTopic: string;
  /**
   * The mark of a flush that ends at record index `end` (exclusive). Default `end`: the marks run up to `records`,
   * so input at lower offsets counts as already applied. Return -1 for state that covers no input yet.
   */
  markOffset?: (end: number) => number;
}

/** Writes `records` distinct keys (count value 1), 5,000 per flush; returns the size of one record in bytes. */
export async function fillChangelog(kafka: Kafka, fill: ChangelogFill): Promise<number> {
  const { topic, records, sourceTopic } = fill;
  const markOffset = fill.markOffset ?? ((end: number) => end);
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const started = performance.now();
  const value = Buffer.alloc(8);
  value.writeDoubleBE(1);
  let recordBytes = 0;
  const send = async (from: number) => {
    const end = Math.min(from + SEND_BATCH, records);
    // All records of one flush carry the same mark: the input position at that flush.
    const headers = {
      [SOURCE_MARKS_HEADER]: encodeSourceMarks([
        { topic: sourceTopic, partition: 0, offset: markOffset(from + SEND_BATCH) },
      ]),
    };
    const messages: Message[] = [];
    for (let i = from; i < end; i++) {
      messages.push({ key: `word-${String(i).padStart(10, '0')}-${'k'.repeat(32)}`, value, headers });
    }
    recordBytes =
      messages[0]!.key!.length +
      value.length +
      SOURCE_MARKS_HEADER.length +
      headers[SOURCE_MARKS_HEADER].length;
    await producer.sendBatch({ acks: 1, topicMessages: [{ topic, messages }] });
  };
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: SENDS_IN_FLIGHT }, async () => {
        while (next < records) {
          const from = next;
          next += SEND_BATCH;
          await send(from);
        }
      }),
    );
  } finally {
    await producer.disconnect();
  }
  process.stdout.write(
    `filled ${topic} with ${records} records in ${(performance.now() - started).toFixed(0)} ms\n`,
  );
  return recordBytes;
}

/** The one-partition input, output and compacted changelog topics of a word-count benchmark app. */
export async function createWordCountTopics(
  admin: Admin,
  topics: { input: string; output: string; changelog: string },
): Promise<void> {
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      { topic: topics.input, numPartitions: 1 },
      { topic: topics.output, numPartitions: 1 },
      {
        topic: topics.changelog,
        numPartitions: 1,
        configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
      },
    ],
  });
}
