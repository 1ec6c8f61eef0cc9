// The hand-written kafkajs counts of the peers benchmark in a process of their own, run until SIGTERM: without state
// (support/raw-count.ts), or, given a state directory, with a LevelDB store and a changelog
// (support/raw-store-count.ts). Usage: raw-app.ts <brokers> <group id> <input> <output> [<state dir>]
import { Kafka, logLevel } from 'kafkajs';
import { rawKafkajsCount } from '../support/raw-count.js';
import { rawKafkajsStoreCount } from '../support/raw-store-count.js';

const [brokers, groupId, input, output, stateDir] = process.argv.slice(2);
if (!output) {
  process.stderr.write('usage: raw-app.ts <brokers> <group id> <input> <output> [<state dir>]\n');
  process.exit(2);
}
const kafka = new Kafka({ clientId: groupId, brokers: brokers!.split(','), logLevel: logLevel.ERROR });
const stopped = new Promise<void>((resolve) => process.once('SIGTERM', resolve));
const topics = { input: input!, output, groupId: groupId! };
if (stateDir === undefined) await rawKafkajsCount(kafka, topics, () => stopped);
else await rawKafkajsStoreCount(kafka, { ...topics, stateDir }, () => stopped);
process.exit(0);
