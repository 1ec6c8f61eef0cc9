// An app with Avro serdes on the real broker and registry: what it writes is Confluent-framed Avro under the
// registered id, byte for byte the golden fixture's body; bad input (unknown schema id, wrong magic byte, truncated
// body) goes the configured error mode's way; and when the registry goes away mid-run, records of cached ids keep
// flowing while a new id fails clearly, through the same error mode.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AvroSerdes, frame, type RegistryClient, schemaIdOf } from '@eddy/avro';
import { DEAD_LETTER_HEADERS, Serdes, StreamsApp, StreamsBuilder } from '@eddy/streams';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { order, orderSchema } from '../../packages/avro/test/fixtures/schemas.js';
import { inProcessApps } from '../support/in-process.js';
import { brokerList, createTopics, uniqueName } from '../support/kafka.js';
import { avroBytes, produce, readRaw, registryClient, registryProxy } from './support.js';

const apps = inProcessApps();
const golden = JSON.parse(
  readFileSync(join(import.meta.dirname, '../../packages/avro/test/fixtures/order-4242.json'), 'utf8'),
) as { hex: string };

/** orders (Avro) → copy (Avro, same schema); undecodable records go to the dead-letter topic. */
async function copyApp(registry: RegistryClient) {
  const input = uniqueName('orders');
  const output = uniqueName('copy');
  const dead = uniqueName('dead');
  await createTopics([input, output, dead].map((topic) => ({ topic, numPartitions: 1 })));
  const b = new StreamsBuilder();
  b.stream(input, {
    keySerde: Serdes.string(),
    valueSerde: AvroSerdes.specific({ registry, schema: orderSchema }),
  }).to(output, {
    keySerde: Serdes.string(),
    valueSerde: AvroSerdes.specific({ registry, schema: orderSchema }),
  });
  const app = apps.track(
    new StreamsApp(b.build(), {
      applicationId: uniqueName('copy'),
      brokers: brokerList(),
      stateDir: apps.stateDir(),
      commitIntervalMs: 200,
      deserializationErrors: { deadLetterTopic: dead },
    }),
  );
  await app.start();
  return { input, output, dead };
}

describe('an Avro app', () => {
  it('writes the golden bytes under the registered id, and dead-letters bad input with the reason', async () => {
    const registry = registryClient();
    const t = await copyApp(registry);
    const good = await avroBytes(`${t.input}-value`, orderSchema, order);
    await produce(t.input, [
      { key: 'good', value: good },
      { key: 'unknown-id', value: frame(0x7ffffff0, Buffer.from([0])) },
      { key: 'json', value: JSON.stringify(order) },
      { key: 'truncated', value: good.subarray(0, good.length - 4) },
      { key: 'good-again', value: good },
    ]);
    const out = await readRaw(t.output, 2);
    expect(out.map((r) => r.key)).toEqual(['good', 'good-again']);
    const id = (
      await registry.lookup(
        `${t.output}-value`,
        JSON.stringify(avro.Type.forSchema(orderSchema).schema({ exportAttrs: true })),
      )
    )?.id;
    expect(id).toBeDefined();
    for (const r of out) {
      expect(schemaIdOf(r.value!)).toBe(id);
      expect(r.value!.subarray(5).toString('hex')).toBe(golden.hex.slice(10));
    }
    const dead = await readRaw(t.dead, 3);
    expect(dead.map((r) => [r.key, r.headers[DEAD_LETTER_HEADERS.errorMessage]])).toEqual([
      ['unknown-id', expect.stringContaining('knows no schema id 2147483632')],
      ['json', expect.stringContaining('magic byte')],
      ['truncated', expect.stringContaining('runs past the Avro body')],
    ]);
    registry.close();
  });

  it('keeps reading cached schema ids while the registry is down; a new id fails clearly and is dead-lettered', async () => {
    const proxy = await registryProxy();
    const registry = registryClient(proxy.url);
    const t = await copyApp(registry);
    const v1 = await avroBytes(`${t.input}-value`, orderSchema, order);
    await produce(t.input, [{ key: 'before', value: v1 }]);
    await readRaw(t.output, 1);
    await proxy.close();
    // A producer that upgraded meanwhile writes with a schema id the app has never seen.
    const v2Schema = {
      ...(orderSchema as object),
      fields: [
        ...(orderSchema as { fields: object[] }).fields,
        { name: 'channel', type: 'string', default: 'web' },
      ],
    } as avro.Schema;
    const v2 = await avroBytes(`${t.input}-value`, v2Schema, { ...order, channel: 'app' });
    await produce(t.input, [
      { key: 'new-id', value: v2 },
      { key: 'after', value: v1 },
    ]);
    const out = await readRaw(t.output, 2);
    expect(out.map((r) => r.key)).toEqual(['before', 'after']);
    const [dead] = await readRaw(t.dead, 1);
    expect(dead!.key).toBe('new-id');
    expect(dead!.headers[DEAD_LETTER_HEADERS.errorMessage]).toMatch(
      /schema id \d+ is not cached and the registry/,
    );
    registry.close();
  });
});
