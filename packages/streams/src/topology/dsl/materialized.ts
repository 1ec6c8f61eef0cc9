// How a stateful DSL operation keeps its state: store name, serdes, engine, caching, logging and retention.
import { DEFAULT_CACHE_MAX_BYTES, type KeyValueStore, keyValueStore, type StoreBuilder } from '@eddy/state';
import type { DslSerde } from './serdes.js';
import { timestampedKeyValueStore } from './timestamped-key-value-store.js';
import type { ValueAndTimestamp } from './value-and-timestamp.js';

/** Where a stateful operation keeps its state. Without a name the store is named `<node>-store`. */
export interface Materialized<K, V> {
  /** Store name; it also names the changelog topic `<applicationId>-<name>-changelog`, so name it. */
  name?: string;
  keySerde?: DslSerde<K>;
  valueSerde?: DslSerde<V>;
  /** LevelDB (default) or in-memory. */
  persistent?: boolean;
  /**
   * Write-back cache (default on). For a table it also folds the updates of a key between two commits into one
   * downstream change, as a table's cache does in Kafka Streams.
   */
  caching?: boolean;
  /** Changelog topic (default on). Off: none is created, and a store whose state directory is lost starts empty. */
  logging?: boolean;
  cacheMaxBytes?: number;
  /** Window and session stores: how long (ms of stream time) data is kept; default window size + grace. */
  retentionMs?: number;
}

/** @internal the options every store of the DSL is built with. */
export function storeOptions(
  name: string,
  materialized: Materialized<unknown, unknown> | undefined,
): {
  name: string;
  persistent?: boolean;
  caching?: boolean;
  logging?: boolean;
  cacheMaxBytes?: number;
} {
  const m = materialized ?? {};
  return {
    name,
    ...(m.persistent === undefined ? {} : { persistent: m.persistent }),
    ...(m.caching === undefined ? {} : { caching: m.caching }),
    ...(m.logging === undefined ? {} : { logging: m.logging }),
    ...(m.cacheMaxBytes === undefined ? {} : { cacheMaxBytes: m.cacheMaxBytes }),
  };
}

/** @internal a key-value store for a DSL operation. */
export function dslKeyValueStore<K, V>(
  name: string,
  keySerde: DslSerde<K>,
  valueSerde: DslSerde<V>,
  materialized: Materialized<K, V> | undefined,
): StoreBuilder<KeyValueStore<K, V>> {
  return keyValueStore<K, V>({
    ...storeOptions(name, materialized as Materialized<unknown, unknown> | undefined),
    keySerde,
    valueSerde,
  });
}

/** @internal the store of a DSL table: each value kept with its timestamp (see `timestampedKeyValueStore`). */
export function dslTableStore<K, V>(
  name: string,
  keySerde: DslSerde<K>,
  valueSerde: DslSerde<V>,
  materialized: Materialized<K, V> | undefined,
  sourceTopic?: string,
): StoreBuilder<KeyValueStore<K, ValueAndTimestamp<V>>> {
  return timestampedKeyValueStore<K, V>({
    ...storeOptions(name, materialized as Materialized<unknown, unknown> | undefined),
    keySerde,
    valueSerde,
    ...(sourceTopic === undefined ? {} : { logging: false, sourceTopic }),
  });
}

/** @internal how many keys a table holds back between commits before it forwards them (caching on), else 0. */
export function foldingBound(materialized: Materialized<unknown, unknown> | undefined): number {
  if (materialized?.caching === false) return 0;
  // About 1 KiB per held-back key: the cache bound in bytes gives the bound in keys.
  return Math.max(1, Math.floor((materialized?.cacheMaxBytes ?? DEFAULT_CACHE_MAX_BYTES) / 1024));
}
