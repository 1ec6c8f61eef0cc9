// KTable.filter, filterNot and mapValues: each change of the parent table becomes a change of the result, which is
// either materialized in a store of its own or computed on read from the parent's value getter.
import type { KeyValueStore } from '@eddy/state';
import type { ProcessorContext, ProcessorSupplier } from '../processor.js';
import type { Change } from './change.js';
import { KTable } from './ktable.js';
import type { Materialized } from './materialized.js';
import { materializedTable, type TableStoreContext } from './materialized-table.js';
import type { Named } from './naming.js';
import { requireSerde } from './serdes.js';
import { TableEmitter } from './table-emitter.js';
import { type ValueAndTimestamp, valueAndTimestamp } from './value-and-timestamp.js';
import type { ValueGetterSupplier } from './value-getter.js';

/** The result's value of a key from the parent's value (never null); null: the key is absent from the result. */
export type TableValueFn<K, V, VR> = (key: K, value: V) => VR | null;

export interface TableTransformSpec<K, V, VR> {
  operation: string;
  compute: TableValueFn<K, V, VR>;
  /** Undefined: not materialized (no store; joins read the parent's value through `compute`). */
  materialized: Materialized<K, VR> | undefined;
  named: Named | undefined;
  /** The result's value serde when it is the parent's (filters); undefined when the value type changes. */
  valueSerde: unknown;
}

/**
 * Adds the transformation's node under `parent`. A change where neither the old nor the new value is in the result
 * (e.g. a filter that rejects both) is not forwarded, as in Kafka Streams when old values are sent (tables here
 * always send them); an update whose new value no longer passes a filter forwards a delete (new value null). The
 * deletion of a key the parent did not hold (null to null) passes on as it came, as Kafka Streams' mapValues and
 * filter forward it to a `toStream` or a join.
 */
export function transformTable<K, V, VR>(
  parent: KTable<K, V>,
  spec: TableTransformSpec<K, V, VR>,
): KTable<K, NonNullable<VR>> {
  const { graph } = parent;
  const { operation, compute, materialized, named } = spec;
  const node = graph.names.name(operation, [parent.nodeName], named);
  if (materialized === undefined) {
    graph.topology.addProcessor(node, passThroughSupplier(compute), parent.nodeName);
    return new KTable<K, NonNullable<VR>>(
      graph,
      node,
      { key: parent.serdes.key, value: spec.valueSerde },
      computedValueGetter(parent.valueGetter, compute) as ValueGetterSupplier<K, NonNullable<VR>> | undefined,
      undefined,
    );
  }
  const keySerde = requireSerde<K>(`${operation} (key)`, materialized.keySerde, parent.serdes.key);
  const valueSerde = requireSerde<NonNullable<VR>>(
    `${operation} (value)`,
    materialized.valueSerde,
    spec.valueSerde,
  );
  return materializedTable<K, NonNullable<VR>>(graph, {
    parent: parent.nodeName,
    node,
    keySerde,
    valueSerde,
    materialized: materialized as Materialized<K, NonNullable<VR>>,
    supplier: (store) =>
      materializedSupplier<K, V, NonNullable<VR>>(store, compute as TableValueFn<K, V, NonNullable<VR>>),
  });
}

function apply<K, V, VR>(compute: TableValueFn<K, V, VR>, key: K, value: V | null): VR | null {
  if (value === null || value === undefined) return null;
  const out = compute(key, value);
  return out === undefined ? null : out;
}

/** The parent deleted a key it did not hold. */
const absentKeyDeleted = (change: Change<unknown>) => change.newValue === null && change.oldValue === null;

/** Not materialized: maps both sides of each change. */
function passThroughSupplier<K, V, VR>(
  compute: TableValueFn<K, V, VR>,
): ProcessorSupplier<K, Change<V>, K, Change<VR>> {
  return () => {
    let ctx: ProcessorContext<K, Change<VR>>;
    return {
      init(c) {
        ctx = c;
      },
      process(r) {
        const newValue = apply(compute, r.key, r.value.newValue);
        const oldValue = apply(compute, r.key, r.value.oldValue);
        if (newValue === null && oldValue === null && !absentKeyDeleted(r.value)) return;
        ctx.forward({
          key: r.key,
          value: { newValue, oldValue },
          timestamp: r.timestamp,
          headers: r.headers,
        });
      },
    };
  };
}

/** Materialized: the old value is the store's, and changes are folded per key like any table's (caching). */
function materializedSupplier<K, V, VR>(
  { storeName, foldingBound, keyId }: TableStoreContext<K>,
  compute: TableValueFn<K, V, VR>,
): ProcessorSupplier<K, Change<V>, K, Change<VR>> {
  return () => {
    let store: KeyValueStore<K, ValueAndTimestamp<VR>>;
    let emitter: TableEmitter<K, VR>;
    return {
      init(ctx) {
        store = ctx.getStateStore<KeyValueStore<K, ValueAndTimestamp<VR>>>(storeName);
        emitter = new TableEmitter(ctx, foldingBound, keyId);
      },
      process(r) {
        const newValue = apply(compute, r.key, r.value.newValue);
        const oldValue = store.get(r.key)?.value ?? null;
        if (newValue === null) {
          if (oldValue === null && !absentKeyDeleted(r.value)) return;
          if (oldValue !== null) store.delete(r.key);
        } else {
          store.put(r.key, valueAndTimestamp(newValue, r.timestamp));
        }
        emitter.emit(r.key, newValue, oldValue, r.timestamp, r.headers);
      },
      flush() {
        emitter.flush();
      },
    };
  };
}

/**
 * Reads the parent's value and computes the result's on the fly, with the parent's timestamp; undefined when the
 * parent is not readable.
 */
function computedValueGetter<K, V, VR>(
  parent: ValueGetterSupplier<K, V> | undefined,
  compute: TableValueFn<K, V, VR>,
): ValueGetterSupplier<K, VR> | undefined {
  if (parent === undefined) return undefined;
  return {
    storeNames: parent.storeNames,
    create(ctx) {
      const get = parent.create(ctx);
      return (key) => {
        const found = get(key);
        if (found === undefined || found.value === null) return undefined;
        const value = apply(compute, key, found.value);
        return value === null ? undefined : valueAndTimestamp(value, found.timestamp);
      };
    },
  };
}
