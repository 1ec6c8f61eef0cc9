// The Eddy side of the peers benchmark, in a process of its own: the word-count StreamsApp (LevelDB store, no cache),
// run until SIGTERM. Usage: eddy-app.ts <brokers> <application id> <input> <output> <guarantee> <commit ms> <state dir>
// [kafkajs|platformatic]
import { StreamsApp } from '@eddy/streams';
import { wordCountTopology } from '../../examples/word-count/topology.js';

const [brokers, applicationId, input, output, guarantee, commitMs, stateDir, client = 'kafkajs'] =
  process.argv.slice(2);
if (
  !stateDir ||
  (guarantee !== 'at-least-once' && guarantee !== 'exactly-once') ||
  !(Number(commitMs) > 0) ||
  (client !== 'kafkajs' && client !== 'platformatic')
) {
  process.stderr.write(
    'usage: eddy-app.ts <brokers> <application id> <input> <output> <at-least-once|exactly-once> <commit ms> <state dir> [kafkajs|platformatic]\n',
  );
  process.exit(2);
}
const app = new StreamsApp(wordCountTopology(input!, output!), {
  applicationId: applicationId!,
  brokers: brokers!.split(','),
  stateDir,
  processingGuarantee: guarantee,
  commitIntervalMs: Number(commitMs),
  client,
  logger: { debug() {}, info() {}, warn() {}, error: (m) => process.stderr.write(`${m}\n`) },
});
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
