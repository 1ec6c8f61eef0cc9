// The Eddy side of the peers benchmark, in a process of its own: the word-count app of eddy-threaded-app.ts (LevelDB
// store, no cache), run until SIGTERM. One stream thread is a StreamsApp; more, a ThreadedStreamsApp of that module.
// Usage: eddy-app.ts <brokers> <application id> <input> <output> <guarantee> <commit ms> <state dir>
// [kafkajs|platformatic] [stream threads]
import { StreamsApp, ThreadedStreamsApp } from '@eddy/streams';
import { EDDY_USAGE, eddyCount, parseEddyArgs } from './eddy-threaded-app.js';

const args = process.argv.slice(2);
const parsed = parseEddyArgs(args);
if (parsed === undefined) {
  process.stderr.write(`${EDDY_USAGE}\n`);
  process.exit(2);
}
let app: StreamsApp | ThreadedStreamsApp;
if (parsed.threads > 1) {
  app = await ThreadedStreamsApp.load(new URL('./eddy-threaded-app.ts', import.meta.url), { args });
} else {
  const { topology, config } = eddyCount(parsed);
  app = new StreamsApp(topology, config);
}
app.onError((error) => {
  process.stdout.write(`FAILED ${error.message}\n`);
  process.exit(1);
});
process.once('SIGTERM', () => {
  void app.close().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`close failed: ${String(error)}\n`);
      process.exit(1);
    },
  );
});
await app.start();
