// The Avro counting topology of the schema tests, in three versions: words are rekeyed through a repartition topic
// as Avro events, counted in a store of Avro values, and the counts written to an Avro output topic. v2 adds a field
// with a default to the event and the count (compatible); v3 renames the count's field in its store (the old one
// removed without default: incompatible for a FULL-compatible store) and writes its output as v2 does.
import { type AvroSerde, AvroSerdes, type RegistryClient, schemaIdOf } from '@eddy/avro';
import { type KeyValueStore, keyValueStore } from '@eddy/state';
import { type ProcessorContext, Serdes, Topology } from '@eddy/streams';
import type avro from 'avsc';

export type Version = 1 | 2 | 3;

export interface Count {
  count?: number;
  total?: number;
  by?: string;
}

const BY_FIELD = { name: 'by', type: 'string', default: '' };

export function eventSchema(version: Version): avro.Schema {
  const fields: object[] = [{ name: 'word', type: 'string' }];
  if (version >= 2) fields.push(BY_FIELD);
  return { type: 'record', name: 'Event', namespace: 'eddy.test', fields } as avro.Schema;
}

export function countSchema(version: Version): avro.Schema {
  const fields: object[] = [{ name: version === 3 ? 'total' : 'count', type: 'long' }];
  if (version >= 2) fields.push(BY_FIELD);
  return { type: 'record', name: 'Count', namespace: 'eddy.test', fields } as avro.Schema;
}

/** What the app decoded: a repartitioned event or a store's count, written with schema id `schemaId`. */
export type DecodeListener = (what: 'event' | 'count', schemaId: number) => void;

/** `serde`, telling `onDecode` the writer's schema id of each record it decodes. */
function counted<T>(serde: AvroSerde<T>, what: 'event' | 'count', onDecode?: DecodeListener): AvroSerde<T> {
  if (onDecode === undefined) return serde;
  const deserialize = serde.deserialize.bind(serde) as (bytes: Uint8Array | null) => T | null;
  return Object.assign(Object.create(serde) as AvroSerde<T>, {
    deserialize: (bytes: Uint8Array | null) => {
      if (bytes !== null) onDecode(what, schemaIdOf(bytes as Buffer));
      return deserialize(bytes);
    },
  });
}

export function avroCountTopology(options: {
  version: Version;
  input: string;
  output: string;
  registry: RegistryClient;
  autoRegister?: boolean;
  onDecode?: DecodeListener;
  /**
   * The repartition topic's partition count: events then go to a partition of their own hash, not to the one their
   * key hashes to (which is the input partition), so that counting tasks read events other tasks' pods wrote.
   */
  eventPartitions?: number;
}): Topology {
  const { version, input, output, registry, onDecode, eventPartitions } = options;
  const gate = {
    registry,
    ...(options.autoRegister === undefined ? {} : { autoRegister: options.autoRegister }),
  };
  const events = () =>
    AvroSerdes.specific<{ word: string; by?: string }>({ ...gate, schema: eventSchema(version) });
  const counts = (v: Version = version) => AvroSerdes.specific<Count>({ ...gate, schema: countSchema(v) });
  const field = version === 3 ? 'total' : 'count';
  return new Topology()
    .addSource('words', { topics: [input], keySerde: Serdes.string(), valueSerde: Serdes.string() })
    .addProcessor<string, string, string, { word: string; by?: string }>(
      'to-event',
      () => {
        let ctx: ProcessorContext<string, { word: string; by?: string }>;
        return {
          init: (c) => {
            ctx = c;
          },
          process: (r) =>
            ctx.forward({ ...r, value: version >= 2 ? { word: r.key, by: `v${version}` } : { word: r.key } }),
        };
      },
      'words',
    )
    .addRepartitionTopic('events')
    .addSink(
      'to-events',
      {
        repartitionTopic: 'events',
        keySerde: Serdes.string(),
        valueSerde: events(),
        ...(eventPartitions === undefined
          ? {}
          : { partitioner: (r: { key: string | null }) => charSum(r.key ?? '') % eventPartitions }),
      },
      'to-event',
    )
    .addSource('events', {
      repartitionTopic: 'events',
      keySerde: Serdes.string(),
      valueSerde: counted(events(), 'event', onDecode),
    })
    .addProcessor<string, { word: string }, string, Count>(
      'count',
      () => {
        let ctx: ProcessorContext<string, Count>;
        let store: KeyValueStore<string, Count>;
        return {
          init: (c) => {
            ctx = c;
            store = c.getStateStore('counts');
          },
          process: (r) => {
            const n = Number(store.get(r.key)?.[field] ?? 0) + 1;
            const value: Count = version >= 2 ? { [field]: n, by: `v${version}` } : { [field]: n };
            store.put(r.key, value);
            ctx.forward({ ...r, value: version === 3 ? { count: n, by: 'v3' } : value });
          },
        };
      },
      'events',
    )
    .addStateStore(
      keyValueStore({
        name: 'counts',
        keySerde: Serdes.string(),
        valueSerde: counted(counts(), 'count', onDecode),
      }),
      'count',
    )
    .addSink(
      'out',
      { topic: output, keySerde: Serdes.string(), valueSerde: counts(version === 3 ? 2 : version) },
      'count',
    );
}

/** A hash unlike the default partitioner's: the sum of the key's character codes. */
function charSum(key: string): number {
  let sum = 0;
  for (let i = 0; i < key.length; i++) sum += key.charCodeAt(i);
  return sum;
}
