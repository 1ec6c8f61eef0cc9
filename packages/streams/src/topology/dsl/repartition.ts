// Inserts a repartition topic into a stream: a sink writes records to the partition of their new key, and a source
// of a new subtopology reads them back.
import type { Processor, StreamRecord } from '../processor.js';
import type { DslGraph } from './dsl-graph.js';
import type { DslSerde } from './serdes.js';

export interface RepartitionSpec<K, V> {
  /** Names the nodes and the topic `<applicationId>-<base>-repartition`. */
  base: string;
  keySerde: DslSerde<K>;
  valueSerde: DslSerde<V>;
  /** Default: the largest partition count among the inputs of the subtopology that writes it. */
  partitions?: number;
  /** The partition count of the other inputs of the subtopology that reads it (see `Topology.addRepartitionTopic`). */
  copartitionWithReader?: boolean;
  /** Picks each record's partition; default: that of its serialized key. */
  partitioner?: (record: StreamRecord<K, V>) => number | undefined;
}

/** Adds `<base>-filter` (drops null keys, which no partition owns), `<base>-sink` and `<base>-source`; returns the source. */
export function addRepartition<K, V>(graph: DslGraph, parent: string, spec: RepartitionSpec<K, V>): string {
  const { base, keySerde, valueSerde, partitions, copartitionWithReader, partitioner } = spec;
  const topology = graph.topology;
  const filter = graph.names.claim(`${base}-filter`);
  const sink = graph.names.claim(`${base}-sink`);
  const source = graph.names.claim(`${base}-source`);
  topology.addRepartitionTopic(base, {
    ...(partitions === undefined ? {} : { partitions }),
    ...(copartitionWithReader === true ? { copartitionWithReader } : {}),
  });
  topology.addProcessor<K, V, K, V>(
    filter,
    (): Processor<K, V, K, V> => {
      let forward: (r: Parameters<Processor<K, V>['process']>[0]) => void;
      return {
        init: (ctx) => {
          forward = (r) => ctx.forward(r);
        },
        process: (r) => {
          if (r.key !== null && r.key !== undefined) forward(r);
        },
      };
    },
    parent,
  );
  topology.addSink(
    sink,
    { repartitionTopic: base, keySerde, valueSerde, ...(partitioner === undefined ? {} : { partitioner }) },
    filter,
  );
  topology.addSource(source, { repartitionTopic: base, keySerde, valueSerde });
  return source;
}
