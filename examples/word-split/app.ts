// Runs the word-split topology as a long-lived service: `tsx app.ts <input-topic> <output-topic>`.
// Reads KAFKA_BROKERS (default 127.0.0.1:39092), APPLICATION_ID, COMMIT_INTERVAL_MS, STATE_DIR,
// PROCESSING_GUARANTEE ('at-least-once' or 'exactly-once') and SESSION_TIMEOUT_MS; closes gracefully on
// SIGTERM/SIGINT. Prints its state changes and assignments, and why it stopped.
import { StreamsApp } from '@eddy/streams';
import { wordSplitTopology } from './topology.js';

const env = process.env;
const [input = 'sentences', output = 'words'] = process.argv.slice(2);
const app = new StreamsApp(wordSplitTopology(input, output), {
  applicationId: env.APPLICATION_ID ?? 'word-split',
  brokers: (env.KAFKA_BROKERS ?? '127.0.0.1:39092').split(','),
  commitIntervalMs: Number(env.COMMIT_INTERVAL_MS ?? 1000),
  ...(env.STATE_DIR ? { stateDir: env.STATE_DIR } : {}),
  ...(env.PROCESSING_GUARANTEE === 'exactly-once' ? { processingGuarantee: 'exactly-once' as const } : {}),
  ...(env.SESSION_TIMEOUT_MS
    ? { sessionTimeoutMs: Number(env.SESSION_TIMEOUT_MS), heartbeatIntervalMs: 500 }
    : {}),
});
app.closeOnSignals();
app.onError((err) => process.stderr.write(`word-split stopped: ${err.code}: ${err.message}\n`));
app.onStateChange((next) => {
  process.stdout.write(`state ${next}\n`);
  if (next === 'ERROR') process.exitCode = 1;
});
app.onAssignment((a) =>
  process.stdout.write(
    `${JSON.stringify({ event: 'assigned', tasks: a.active, generation: a.generationId })}\n`,
  ),
);
await app.start();
