// Adds the node of a table that a store materializes (aggregations, materialized transformations, source tables):
// the store keeps each value with its timestamp.
import type { ProcessorSupplier } from '../processor.js';
import type { Change } from './change.js';
import type { DslGraph } from './dsl-graph.js';
import { KTable } from './ktable.js';
import { dslTableStore, foldingBound, type Materialized } from './materialized.js';
import type { Named } from './naming.js';
import { type DslSerde, type KnownSerdes, keyIdOf, requireSerde } from './serdes.js';
import { storeValueGetter } from './value-getter.js';

/** What the node's processor needs to keep the table and forward its changes. */
export interface TableStoreContext<K> {
  storeName: string;
  /** How many keys it may hold back between commits (0: caching off, forward every change). */
  foldingBound: number;
  keyId: (key: K) => string;
}

export interface MaterializedTableSpec<K, V> {
  /** The node (or nodes) whose records the table's processor takes. */
  parent: string | readonly string[];
  node: string;
  keySerde: DslSerde<K>;
  valueSerde: DslSerde<V>;
  materialized: Materialized<K, V>;
  supplier: (store: TableStoreContext<K>) => ProcessorSupplier<never, never, K, Change<V>>;
  /** A store restored from this source topic instead of a changelog of its own. */
  sourceTopic?: string;
}

/** Adds `node` under `parent` (or parents) with its store (`materialized.name`, else `<node>-store`); the table it makes. */
export function materializedTable<K, V>(graph: DslGraph, spec: MaterializedTableSpec<K, V>): KTable<K, V> {
  const { node, keySerde, valueSerde, materialized, sourceTopic } = spec;
  const m = materialized as Materialized<unknown, unknown>;
  const storeName = graph.storeName(node, materialized.name);
  graph.topology.addProcessor(
    node,
    spec.supplier({
      storeName,
      foldingBound: foldingBound(m),
      keyId: keyIdOf(keySerde),
    }) as ProcessorSupplier<unknown, unknown, K, Change<V>>,
    ...(typeof spec.parent === 'string' ? [spec.parent] : spec.parent),
  );
  graph.addStore(dslTableStore(storeName, keySerde, valueSerde, materialized, sourceTopic), node);
  return new KTable<K, V>(
    graph,
    node,
    { key: keySerde, value: valueSerde },
    storeValueGetter<K, V>(storeName),
    storeName,
  );
}

/** A grouped stream or table: records partitioned by their group's key. */
export interface GroupedSource {
  readonly graph: DslGraph;
  readonly nodeName: string;
  readonly serdes: KnownSerdes;
}

/** The table of an aggregation of `grouped` (count, reduce, aggregate) named `named` or after `operation`. */
export function aggregateTable<K, A>(
  grouped: GroupedSource,
  operation: string,
  materialized: Materialized<K, A>,
  named: Named | undefined,
  supplier: MaterializedTableSpec<K, A>['supplier'],
): KTable<K, A> {
  return materializedTable<K, A>(grouped.graph, {
    parent: grouped.nodeName,
    node: grouped.graph.names.name(operation, [grouped.nodeName], named),
    keySerde: requireSerde<K>(`${operation} (key)`, materialized.keySerde, grouped.serdes.key),
    valueSerde: requireSerde<A>(`${operation} (value)`, materialized.valueSerde),
    materialized,
    supplier,
  });
}
