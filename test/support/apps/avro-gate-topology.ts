// The Avro counting topology (test/support/avro-count.ts) as a module for eddy-schema-gate: AVRO_VERSION,
// SCHEMA_REGISTRY_URL, INPUT_TOPIC and OUTPUT_TOPIC from the environment.
import { RegistryClient } from '@eddy/avro';
import { avroCountTopology, type Version } from '../avro-count.js';

export function topology() {
  const env = process.env;
  return avroCountTopology({
    version: Number(env.AVRO_VERSION ?? 1) as Version,
    input: env.INPUT_TOPIC ?? 'words',
    output: env.OUTPUT_TOPIC ?? 'counts',
    registry: new RegistryClient({ url: env.SCHEMA_REGISTRY_URL!, timeoutMs: 2_000 }),
  });
}
