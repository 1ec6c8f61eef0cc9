// The builder of typed key-value stores (metered over caching over change-logging over an engine).
import { MeteredKeyValueStore } from '../layers/metered-key-value-store.js';
import type { KeyValueStore } from './key-value-store.js';
import type { Serde } from './serde.js';
import type { StoreBuilder, StoreOptions } from './store-builder.js';

export interface KeyValueStoreOptions<K, V> extends StoreOptions {
  keySerde: Serde<K>;
  valueSerde: Serde<V>;
}

export function keyValueStore<K, V>(options: KeyValueStoreOptions<K, V>): StoreBuilder<KeyValueStore<K, V>> {
  return {
    options,
    build: (parts) =>
      new MeteredKeyValueStore(
        parts.top,
        parts.cache,
        options.keySerde,
        options.valueSerde,
        parts.status,
        parts.guard,
        options.metrics ?? {},
        parts.flush,
        parts.close,
      ),
  };
}
