// Stream–table join: each stream record looks up the table's current value of its key; table updates emit nothing.
import type { DropReason, Processor, ProcessorSupplier, StreamRecord } from '../../processor.js';
import type { DslGraph } from '../dsl-graph.js';
import type { KStream } from '../kstream.js';
import type { KTable } from '../ktable.js';
import { type DslSerde, knownSerde } from '../serdes.js';
import type { ValueAndTimestamp } from '../value-and-timestamp.js';
import type { ValueGetterSupplier } from '../value-getter.js';
import type { Joined, ValueJoiner } from './join-options.js';
import { connectGetter, requireGetter } from './table-access.js';

/**
 * Inner: a record whose key has no value in the table is dropped. Left: it joins with null. Records with a null
 * value are dropped; so are records with a null key, except in a left join (they join with null, as in Kafka
 * Streams). Dropped records are counted as `null-key-or-value`. A result keeps the stream record's timestamp.
 */
export function streamTableJoinSupplier<K, V, VT, VR>(
  getter: ValueGetterSupplier<K, VT>,
  joiner: ValueJoiner<K, V, VT | null, VR>,
  left: boolean,
): ProcessorSupplier<K, V, K, VR> {
  return (): Processor<K, V, K, VR> => {
    let lookup: (key: K) => ValueAndTimestamp<VT> | undefined;
    let forward: (r: StreamRecord<K, VR>) => void;
    let dropped: (reason: DropReason) => void;
    return {
      init(ctx) {
        lookup = getter.create(ctx as never);
        forward = (r) => ctx.forward(r);
        dropped = (reason) => ctx.recordDropped(reason);
      },
      process(r) {
        const { key, value } = r;
        if (value === null || value === undefined) return dropped('null-key-or-value');
        if (key === null || key === undefined) {
          if (!left) return dropped('null-key-or-value');
          forward({ key, value: joiner(value, null, key), timestamp: r.timestamp, headers: r.headers });
          return;
        }
        const found = lookup(key);
        if (found === undefined) {
          if (left)
            forward({ key, value: joiner(value, null, key), timestamp: r.timestamp, headers: r.headers });
          return;
        }
        forward({ key, value: joiner(value, found.value, key), timestamp: r.timestamp, headers: r.headers });
      },
    };
  };
}

/** Adds the join of `stream` with `table` (the stream repartitioned first after a key change); returns its node. */
export function addStreamTableJoin<K, V, VT, VR>(
  graph: DslGraph,
  kind: 'join' | 'leftjoin',
  stream: KStream<K, V>,
  table: KTable<K, VT>,
  joiner: ValueJoiner<K, V, VT | null, VR>,
  joined: Joined<K, V>,
): { node: string; stream: KStream<K, V> } {
  // After a key change the stream's key serde is often unknown: the table's fits the same keys.
  const keySerde =
    knownSerde(joined.keySerde) ?? knownSerde(stream.serdes.key) ?? knownSerde(table.serdes.key);
  const partitioned = stream.partitionedByKey({
    ...(joined.name === undefined ? {} : { name: joined.name }),
    ...(keySerde === undefined ? {} : { keySerde: keySerde as DslSerde<K> }),
    ...(joined.valueSerde === undefined ? {} : { valueSerde: joined.valueSerde }),
  });
  // Named after both inputs, but fed by the stream only: the table is read through its stores.
  const node = graph.names.name(kind, [partitioned.nodeName, table.nodeName], joined);
  const getter = requireGetter(table, `the stream-table ${kind} "${node}"`);
  graph.topology.addProcessor(
    node,
    streamTableJoinSupplier<K, V, VT, VR>(getter, joiner, kind === 'leftjoin'),
    partitioned.nodeName,
  );
  connectGetter(graph, node, getter as ValueGetterSupplier<unknown, unknown>);
  return { node, stream: partitioned };
}
