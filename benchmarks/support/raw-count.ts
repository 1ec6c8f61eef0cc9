// The end-to-end baseline: the same count written directly on kafkajs, with no store and no changelog.
import type { Consumer, Kafka, Message, Producer } from 'kafkajs';

/**
 * eachBatch → count in a Map → one sendBatch per fetched batch (acks all, idempotent, like the app's producer) →
 * offsets resolved and committed on the same 1 s interval as the app's default. Resolves once `untilCommitted`
 * (the caller's wait for the group to commit all input) does, with the milliseconds taken.
 */
/** The producer (acks all, idempotent, like the app's) and the consumer both hand-written baselines use. */
export function baselineClients(kafka: Kafka, groupId: string): { producer: Producer; consumer: Consumer } {
  return {
    producer: kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false }),
    consumer: kafka.consumer({ groupId, maxWaitTimeInMs: 250, allowAutoTopicCreation: false }),
  };
}

export async function rawKafkajsCount(
  kafka: Kafka,
  { input, output, groupId }: { input: string; output: string; groupId: string },
  untilCommitted: (started: number) => Promise<void>,
): Promise<number> {
  const started = performance.now();
  const { producer, consumer } = baselineClients(kafka, groupId);
  const counts = new Map<string, number>();
  try {
    await producer.connect();
    await consumer.connect();
    await consumer.subscribe({ topics: [input], fromBeginning: true });
    await consumer.run({
      autoCommit: true,
      autoCommitInterval: 1_000,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary }) => {
        if (batch.messages.length === 0) return;
        const messages: Message[] = batch.messages.map((m) => {
          const key = m.key!.toString('utf8');
          m.value?.toString('utf8');
          const n = (counts.get(key) ?? 0) + 1;
          counts.set(key, n);
          return { key, value: String(n), timestamp: m.timestamp };
        });
        await producer.sendBatch({ acks: -1, topicMessages: [{ topic: output, messages }] });
        resolveOffset(batch.messages[batch.messages.length - 1]!.offset);
        await commitOffsetsIfNecessary();
        await heartbeat();
      },
    });
    await untilCommitted(started);
    return performance.now() - started;
  } finally {
    await consumer.disconnect();
    await producer.disconnect();
  }
}
