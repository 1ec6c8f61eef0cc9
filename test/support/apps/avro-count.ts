// The Avro counting topology (test/support/avro-count.ts) as a pod process: AVRO_VERSION 1, 2 or 3,
// SCHEMA_REGISTRY_URL, and the environment of runFromEnv. Arguments: input and output topics.
import { RegistryClient } from '@eddy/avro';
import { avroCountTopology, type Version } from '../avro-count.js';
import { runFromEnv } from './run-from-env.js';

const [input = 'words', output = 'counts'] = process.argv.slice(2);
const registry = new RegistryClient({ url: process.env.SCHEMA_REGISTRY_URL! });
const version = Number(process.env.AVRO_VERSION ?? 1) as Version;
await runFromEnv(avroCountTopology({ version, input, output, registry }), `avro-count-v${version}`);
