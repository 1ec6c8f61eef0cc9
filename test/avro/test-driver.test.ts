// An Avro topology in the TopologyTestDriver with the real registry: create() prepares its serdes as a start does
// (the gate registers the repartition, store and output schemas under the driver's application id), so records flow
// without NOT_PREPARED, and the output is framed under the registered id.
import { AvroSerdes, schemaIdOf } from '@eddy/avro';
import { Serdes } from '@eddy/streams';
import { describe, expect, it } from 'vitest';
import { TopologyTestDriver } from '../../packages/test-utils/src/index.js';
import { avroCountTopology, type Count } from '../support/avro-count.js';
import { uniqueName } from '../support/kafka.js';
import { registryClient } from './support.js';

describe('an Avro topology in the TopologyTestDriver', () => {
  it('runs once create() prepared its serdes against the registry', async () => {
    const registry = registryClient();
    const output = uniqueName('counts');
    const applicationId = uniqueName('driver');
    const topology = avroCountTopology({ version: 1, input: 'words', output, registry });
    await using driver = await TopologyTestDriver.create(topology, { applicationId });
    const input = driver.createInputTopic('words', Serdes.string(), Serdes.string());
    const counts = driver.createOutputTopic(
      output,
      Serdes.string(),
      AvroSerdes.generic({ registry, schema: { type: 'string' } }),
    );
    for (const w of ['a', 'b', 'a']) input.pipeInput(w, w);
    expect(counts.readKeyValuesToList().map(([k, v]) => [k, Number((v as Count).count)])).toEqual([
      ['a', 1],
      ['b', 1],
      ['a', 2],
    ]);
    expect(await registry.versions(`${output}-value`)).toEqual([1]);
    const raw = driver.createOutputTopic(output, Serdes.string(), Serdes.bytes());
    input.pipeInput('c', 'c');
    const [bytes] = raw.readValuesToList();
    expect(schemaIdOf(bytes as Buffer)).toBe((await registry.version(`${output}-value`, 1)).id);
    registry.close();
  });
});
