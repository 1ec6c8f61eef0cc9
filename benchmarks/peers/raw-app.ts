// The hand-written kafkajs count of the peers benchmark (support/raw-count.ts), in a process of its own, run until
// SIGTERM. Usage: raw-app.ts <brokers> <group id> <input> <output>
import { Kafka, logLevel } from 'kafkajs';
import { rawKafkajsCount } from '../support/raw-count.js';

const [brokers, groupId, input, output] = process.argv.slice(2);
if (!output) {
  process.stderr.write('usage: raw-app.ts <brokers> <group id> <input> <output>\n');
  process.exit(2);
}
const kafka = new Kafka({ clientId: groupId, brokers: brokers!.split(','), logLevel: logLevel.ERROR });
const stopped = new Promise<void>((resolve) => process.once('SIGTERM', resolve));
await rawKafkajsCount(kafka, { input: input!, output: output!, groupId: groupId! }, () => stopped);
process.exit(0);
