// The Avro counting topology (test/support/avro-count.ts) as a pod process: AVRO_VERSION 1, 2 or 3,
// SCHEMA_REGISTRY_URL, EVENT_PARTITIONS (see avroCountTopology's eventPartitions), and the environment of
// runFromEnv. Arguments: input and output topics. Prints
// {"event":"decoded","what":"event"|"count","schemaId":…,"count":…} at the 1st, 10th, 100th… decode of each writer
// schema id, so that a test can tell which versions' records each version read.
import { RegistryClient } from '@eddy/avro';
import { avroCountTopology, type Version } from '../avro-count.js';
import { runFromEnv } from './run-from-env.js';

const [input = 'words', output = 'counts'] = process.argv.slice(2);
const registry = new RegistryClient({ url: process.env.SCHEMA_REGISTRY_URL! });
const version = Number(process.env.AVRO_VERSION ?? 1) as Version;
const decoded = new Map<string, number>();
const onDecode = (what: 'event' | 'count', schemaId: number) => {
  const key = `${what} ${schemaId}`;
  const count = (decoded.get(key) ?? 0) + 1;
  decoded.set(key, count);
  if (/^10*$/.test(String(count))) {
    process.stdout.write(`${JSON.stringify({ event: 'decoded', what, schemaId, count })}\n`);
  }
};
const eventPartitions = process.env.EVENT_PARTITIONS ? Number(process.env.EVENT_PARTITIONS) : undefined;
await runFromEnv(
  avroCountTopology({
    version,
    input,
    output,
    registry,
    onDecode,
    ...(eventPartitions === undefined ? {} : { eventPartitions }),
  }),
  `avro-count-v${version}`,
);
