// The store of every DSL table (aggregations, tables of topics, materialized transformations and joins): each value
// with the timestamp of its last update, and the view with plain values that users read it through.
import {
  type KeyValue,
  type KeyValueStore,
  type KeyValueStoreOptions,
  keyValueStore,
  type StoreBuilder,
} from '@eddy/state';
import type { StoreSerde } from '../../serdes/serde.js';
import {
  type ValueAndTimestamp,
  valueAndTimestamp,
  valueAndTimestampSerde,
  withTimestamp,
} from './value-and-timestamp.js';

/** The stores built by `timestampedKeyValueStore`: users see their plain values (see `userView`). */
const timestampedStores = new WeakSet<object>();

/**
 * @internal as Kafka Streams' timestamped key-value store: a `ValueAndTimestamp` per key, written to the changelog and
 * the engine as the timestamp (8 bytes) then the value's bytes. Frozen values (a primitive aggregate) stay
 * unserialized in the cache until its flush, as plain numbers do in a plain store. A store restored from its
 * source topic keeps each record's value with the record's timestamp.
 */
export function timestampedKeyValueStore<K, V>(
  options: Omit<KeyValueStoreOptions<K, V>, 'valueSerde'> & { valueSerde: StoreSerde<V> },
): StoreBuilder<KeyValueStore<K, ValueAndTimestamp<V>>> {
  const inner = keyValueStore<K, ValueAndTimestamp<V>>({
    ...options,
    valueSerde: valueAndTimestampSerde(options.valueSerde),
    ...(options.sourceTopic === undefined ? {} : { fromSourceRecord: withTimestamp }),
  });
  return {
    options: inner.options,
    checkRestored: (_key, value) =>
      value !== null && value.byteLength < 8
        ? `a value of ${value.byteLength} bytes has no room for its 8-byte timestamp`
        : undefined,
    build(parts) {
      const store = inner.build(parts);
      timestampedStores.add(store);
      return store;
    },
  };
}

/**
 * @internal the store as users read it (the test driver's `getStateStore`): a timestamped key-value store shows its
 * plain values, as Kafka Streams' facade does; any other store is itself.
 */
export function userView<S>(store: S): S {
  if (typeof store !== 'object' || store === null || !timestampedStores.has(store)) return store;
  return plainValues(store as unknown as KeyValueStore<unknown, ValueAndTimestamp<unknown>>) as S;
}

/** A write through the view has no record behind it: its timestamp is unknown (-1, as Kafka Streams' NO_TIMESTAMP). */
const NO_TIMESTAMP = -1;

function plainValues<K, V>(store: KeyValueStore<K, ValueAndTimestamp<V>>): KeyValueStore<K, V> {
  const plain = (v: ValueAndTimestamp<V> | undefined) => v?.value;
  async function* values(entries: AsyncIterableIterator<KeyValue<K, ValueAndTimestamp<V>>>) {
    for await (const { key, value } of entries) yield { key, value: value.value };
  }
  return {
    get name() {
      return store.name;
    },
    get: (key) => plain(store.get(key)),
    range: (from, to) => values(store.range(from, to)),
    prefixScan: (prefix) => values(store.prefixScan(prefix)),
    all: () => values(store.all()),
    approximateNumEntries: () => store.approximateNumEntries(),
    put: (key, value) => store.put(key, valueAndTimestamp(value, NO_TIMESTAMP)),
    putIfAbsent: (key, value) => plain(store.putIfAbsent(key, valueAndTimestamp(value, NO_TIMESTAMP))),
    delete: (key) => plain(store.delete(key)),
    flush: () => store.flush(),
    close: () => store.close(),
  };
}
