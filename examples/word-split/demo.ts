// The demo: creates topics, produces sample sentences, runs the word-split app, and prints the word counts it output.
import { randomBytes } from 'node:crypto';
import { StreamsApp, StreamsError } from '@eddy/streams';
import { Kafka, logLevel } from 'kafkajs';
import { wordSplitTopology, wordsOf } from './topology.js';

const SENTENCES = [
  'The quick brown fox jumps over the lazy dog',
  'A stream is a table in motion and a table is a stream at rest',
  'Kafka keeps the log and the log keeps the truth',
  'Every fox in the stream counts',
];

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:39092').split(',');
const run = randomBytes(3).toString('hex');
const input = `demo-sentences-${run}`;
const output = `demo-words-${run}`;
const kafka = new Kafka({ clientId: 'eddy-demo', brokers, logLevel: logLevel.NOTHING });

const admin = kafka.admin();
await admin.connect();
await admin.createTopics({
  waitForLeaders: true,
  topics: [
    { topic: input, numPartitions: 3 },
    { topic: output, numPartitions: 3 },
  ],
});

const producer = kafka.producer();
await producer.connect();
await producer.send({
  topic: input,
  messages: SENTENCES.map((value, i) => ({ key: `line-${i}`, value })),
});
await producer.disconnect();
console.log(`produced ${SENTENCES.length} sentences to ${input}`);

// A broker that has just started answers "coordinator loading" for a moment; the app waits for it (and logs that
// it does) within its start timeout. If the app stops anyway, say why instead of waiting for words in vain.
const app = new StreamsApp(wordSplitTopology(input, output), {
  applicationId: `demo-${run}`,
  brokers,
  clientLogLevel: 'nothing',
});
let stopped: (err: Error) => void = () => undefined;
const failure = new Promise<never>((_, reject) => {
  stopped = reject;
});
failure.catch(() => undefined);
let told = false;
const tell = (err: StreamsError) => {
  if (told) return;
  told = true;
  console.error(`the word-split app stopped: ${err.code}: ${err.message}`);
  stopped(err);
};
app.onError(tell);
try {
  await app.start();
} catch (err) {
  if (err instanceof StreamsError) tell(err);
  process.exitCode = 1;
  await admin.deleteTopics({ topics: [input, output] }).catch(() => undefined);
  await admin.disconnect();
  process.exit();
}

const expected = SENTENCES.flatMap(wordsOf).length;
const counts = new Map<string, number>();
let received = 0;
const consumer = kafka.consumer({ groupId: `demo-reader-${run}` });
await consumer.connect();
await consumer.subscribe({ topic: output, fromBeginning: true });
const done = new Promise<void>((resolve, reject) => {
  const timer = setTimeout(
    () => reject(new Error(`only ${received} of ${expected} words arrived within 60 s`)),
    60_000,
  );
  void consumer.run({
    eachMessage: async ({ message }) => {
      const word = message.key?.toString() ?? '';
      counts.set(word, (counts.get(word) ?? 0) + 1);
      if (++received === expected) {
        clearTimeout(timer);
        resolve();
      }
    },
  });
});
try {
  await Promise.race([done, failure]);
} finally {
  await consumer.disconnect();
  await app.close();
}

console.log(`the app wrote ${received} words to ${output}; counts:`);
for (const [word, n] of [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))) {
  console.log(`  ${word.padEnd(8)} ${n}`);
}
await admin.deleteTopics({ topics: [input, output] });
await admin.disconnect();
