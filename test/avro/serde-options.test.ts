// The Avro serde options against the real registry and broker: `compatibility` decides the level the gate checks
// under, the record and topic-record subject strategies name the subjects the gate registers, `autoRegister: false`
// starts on schemas registered beforehand, an Avro key serde works end to end, and a store's changelog carries its
// records framed with the id registered under the changelog's subject.
import { randomBytes } from 'node:crypto';
import { AvroError, AvroSerdes, frame, schemaIdOf } from '@eddy/avro';
import { changelogTopic, type KeyValueStore, keyValueStore } from '@eddy/state';
import { type ProcessorContext, Serdes, type SerdeUse, StreamsApp, Topology } from '@eddy/streams';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { inProcessApps } from '../support/in-process.js';
import { brokerList, createTopics, uniqueName, waitFor } from '../support/kafka.js';
import { committedOffsets } from '../support/rekey-crash.js';
import { avroBytes, produce, readRaw, readToEnd, registryClient } from './support.js';

const apps = inProcessApps();

/** A writing use of an output topic, as the app gives it to `prepare`. */
const outputUse = (topic: string, part: 'key' | 'value' = 'value'): SerdeUse => ({
  applicationId: 'options',
  kind: 'output',
  topic,
  part,
  writes: true,
  dryRun: false,
  report: () => undefined,
});

const registered = (schema: avro.Schema) =>
  JSON.stringify(avro.Type.forSchema(schema).schema({ exportAttrs: true }));

describe('the Avro serde options', () => {
  it('compatibility: the gate checks under the level given, not the default', async () => {
    const topic = uniqueName('levels');
    const v1 = { type: 'record', name: 'R', fields: [{ name: 'a', type: 'int' }] } as avro.Schema;
    // Drops `a` (no default) and adds `b` with a default: BACKWARD-compatible, not FORWARD-compatible.
    const v2 = {
      type: 'record',
      name: 'R',
      fields: [{ name: 'b', type: 'string', default: '' }],
    } as avro.Schema;
    await avroBytes(`${topic}-value`, v1, { a: 1 });
    const registry = registryClient();
    const forward = AvroSerdes.generic({ registry, schema: v2, compatibility: 'FORWARD' });
    const err = (await forward.prepare(outputUse(topic)).catch((e: unknown) => e)) as AvroError;
    expect(err).toBeInstanceOf(AvroError);
    expect(err.code).toBe('SCHEMA_INCOMPATIBLE');
    expect(err.refusal).toMatchObject({ subject: `${topic}-value`, level: 'FORWARD', versions: [1] });
    expect(await registry.versions(`${topic}-value`)).toEqual([1]);
    // The default for an output topic whose subject has level NONE is BACKWARD: v2 registers.
    const byDefault = AvroSerdes.generic({ registry, schema: v2 });
    await byDefault.prepare(outputUse(topic));
    expect(await registry.versions(`${topic}-value`)).toEqual([1, 2]);
    // A new subject gets the level given.
    const fresh = uniqueName('fresh');
    await AvroSerdes.generic({ registry, schema: v1, compatibility: 'FULL_TRANSITIVE' }).prepare(
      outputUse(fresh),
    );
    expect(await registry.compatibility(`${fresh}-value`)).toBe('FULL_TRANSITIVE');
    registry.close();
  });

  it.each([
    ['record', (_topic: string, name: string) => name],
    ['topic-record', (topic: string, name: string) => `${topic}-${name}`],
  ] as const)(
    'subjectNameStrategy %s: the gate registers under the subject it names',
    async (strategy, subjectOf) => {
      const topic = uniqueName('strategy');
      // A record name of this run alone: the record strategies' subjects do not contain the topic.
      const name = `R${randomBytes(5).toString('hex')}`;
      const schema = {
        type: 'record',
        name,
        namespace: 'eddy.test',
        fields: [{ name: 'a', type: 'int' }],
      } as avro.Schema;
      const subject = subjectOf(topic, `eddy.test.${name}`);
      const registry = registryClient();
      const writer = AvroSerdes.specific<{ a: number }>({ registry, schema, subjectNameStrategy: strategy });
      await writer.prepare(outputUse(topic));
      const found = await registry.lookup(subject, registered(schema));
      expect(found?.id).toBe(writer.schemaId);
      expect(await registry.versions(`${topic}-value`)).toEqual([]);
      // The key of the same topic shares the subject under the record strategies.
      const keys = AvroSerdes.specific<{ a: number }>({ registry, schema, subjectNameStrategy: strategy });
      await keys.prepare(outputUse(topic, 'key'));
      expect(keys.schemaId).toBe(writer.schemaId);
      expect(await registry.versions(subject)).toEqual([1]);
      // A reader in another process learns the id from the registry.
      const readerRegistry = registryClient();
      const reader = AvroSerdes.generic({ registry: readerRegistry, schema, subjectNameStrategy: strategy });
      expect(reader.deserialize(writer.serialize({ a: 7 }))).toEqual({ a: 7 });
      registry.close();
      readerRegistry.close();
    },
  );

  it('autoRegister off starts on registered schemas; Avro keys end to end; the changelog is framed with its id', async () => {
    const input = uniqueName('customers');
    const output = uniqueName('tallies');
    const applicationId = uniqueName('options');
    await createTopics([input, output].map((topic) => ({ topic, numPartitions: 2 })));
    const keySchema = {
      type: 'record',
      name: 'CustomerKey',
      namespace: 'eddy.test',
      fields: [{ name: 'id', type: 'string' }],
    } as avro.Schema;
    const tallySchema = {
      type: 'record',
      name: 'Tally',
      namespace: 'eddy.test',
      fields: [{ name: 'n', type: 'long' }],
    } as avro.Schema;
    const registry = registryClient();
    // The output's schemas are registered beforehand (by a deployment pipeline): the app may not register them.
    const keyId = await registry.register(`${output}-key`, registered(keySchema), 'BACKWARD');
    const valueId = await registry.register(`${output}-value`, registered(tallySchema), 'BACKWARD');
    type Key = { id: string };
    type Tally = { n: number };
    const fixed = { registry, autoRegister: false };
    const topology = new Topology()
      .addSource('in', {
        topics: [input],
        keySerde: AvroSerdes.specific<Key>({ registry, schema: keySchema }),
        valueSerde: Serdes.string(),
      })
      .addProcessor<Key, string, Key, Tally>(
        'tally',
        () => {
          let ctx: ProcessorContext<Key, Tally>;
          let store: KeyValueStore<string, Tally>;
          return {
            init: (c) => {
              ctx = c;
              store = c.getStateStore('tallies');
            },
            process: (r) => {
              const value = { n: Number(store.get(r.key.id)?.n ?? 0) + 1 };
              store.put(r.key.id, value);
              ctx.forward({ ...r, value });
            },
          };
        },
        'in',
      )
      .addStateStore(
        keyValueStore({
          name: 'tallies',
          keySerde: Serdes.string(),
          valueSerde: AvroSerdes.specific<Tally>({ registry, schema: tallySchema }),
        }),
        'tally',
      )
      .addSink(
        'out',
        {
          topic: output,
          keySerde: AvroSerdes.specific<Key>({ ...fixed, schema: keySchema }),
          valueSerde: AvroSerdes.specific<Tally>({ ...fixed, schema: tallySchema }),
        },
        'tally',
      );
    const app = apps.track(
      new StreamsApp(topology, {
        applicationId,
        brokers: brokerList(),
        stateDir: apps.stateDir(),
        commitIntervalMs: 200,
      }),
    );
    await app.start();
    const keyOf = async (id: string) => avroBytes(`${input}-key`, keySchema, { id });
    await produce(input, [
      { key: await keyOf('c1'), value: 'x' },
      { key: await keyOf('c2'), value: 'x' },
      { key: await keyOf('c1'), value: 'x' },
    ]);
    const out = await readRaw(output, 3);
    const keyType = avro.Type.forSchema(keySchema);
    const tallyType = avro.Type.forSchema(tallySchema);
    const decoded = out.map((r) => {
      expect(schemaIdOf(r.keyBytes!)).toBe(keyId);
      expect(schemaIdOf(r.value!)).toBe(valueId);
      return [keyType.fromBuffer(r.keyBytes!.subarray(5)).id, tallyType.fromBuffer(r.value!.subarray(5)).n];
    });
    expect(decoded.sort()).toEqual([
      ['c1', 1],
      ['c1', 2],
      ['c2', 1],
    ]);
    // The store's changelog: the same framing, under the id registered for the changelog's subject.
    const changelog = changelogTopic(applicationId, 'tallies');
    const storeId = (await registry.lookup(`${changelog}-value`, registered(tallySchema)))?.id;
    expect(storeId).toBeDefined();
    // A caching store may have folded c1's two puts into one record.
    await waitFor(async () => (await committedOffsets(applicationId, input)) === 3, {
      what: 'the app to commit its input',
    });
    const entries = await readToEnd(changelog);
    const latest = new Map<string, number>();
    for (const e of entries) {
      expect(e.value!.readUInt8(0)).toBe(0);
      expect(e.value!.readUInt32BE(1)).toBe(storeId);
      const tally = tallyType.fromBuffer(e.value!.subarray(5));
      expect(e.value!).toEqual(frame(storeId!, tallyType.toBuffer(tally)));
      latest.set(e.key!, tally.n);
    }
    expect(latest).toEqual(
      new Map([
        ['c1', 2],
        ['c2', 1],
      ]),
    );
    registry.close();
  });
});
