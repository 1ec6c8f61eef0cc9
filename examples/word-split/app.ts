// Runs the word-split topology as a long-lived service: `tsx app.ts <input-topic> <output-topic>`.
// Reads KAFKA_BROKERS (default 127.0.0.1:39092) and APPLICATION_ID; closes gracefully on SIGTERM/SIGINT.
import { StreamsApp } from '@eddy/streams';
import { wordSplitTopology } from './topology.js';

const [input = 'sentences', output = 'words'] = process.argv.slice(2);
const app = new StreamsApp(wordSplitTopology(input, output), {
  applicationId: process.env.APPLICATION_ID ?? 'word-split',
  brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:39092').split(','),
  commitIntervalMs: Number(process.env.COMMIT_INTERVAL_MS ?? 1000),
});
app.closeOnSignals();
app.onError((err) => process.stderr.write(`word-split stopped: ${err.code}: ${err.message}\n`));
app.onStateChange((next) => {
  process.stdout.write(`state ${next}\n`);
  if (next === 'ERROR') process.exitCode = 1;
});
await app.start();
