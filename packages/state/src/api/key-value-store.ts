// The key-value store interfaces seen by processors (read-write) and by queries (read-only).

export interface KeyValue<K, V> {
  key: K;
  value: V;
}

/** What a query may do with a key-value store. Scans are async and follow the serialized key byte order. */
export interface ReadOnlyKeyValueStore<K, V> {
  readonly name: string;
  /** Synchronous: served from the cache, pending writes, or the engine (`getSync` on LevelDB). */
  get(key: K): V | undefined;
  /** Entries with `from <= key <= to` (both inclusive; an absent bound is open). */
  range(from?: K, to?: K): AsyncIterableIterator<KeyValue<K, V>>;
  /** Entries whose serialized key starts with the serialized `prefix`. */
  prefixScan(prefix: K): AsyncIterableIterator<KeyValue<K, V>>;
  all(): AsyncIterableIterator<KeyValue<K, V>>;
  /** An estimate: LevelDB counts exactly at open, then counts each first write since the last commit as new. */
  approximateNumEntries(): number;
}

/** A key-value store as processors use it. Writes are synchronous and become durable at the task's commit. */
export interface KeyValueStore<K, V> extends ReadOnlyKeyValueStore<K, V> {
  put(key: K, value: V): void;
  /** Puts and returns undefined when the key is absent; otherwise returns the current value and writes nothing. */
  putIfAbsent(key: K, value: V): V | undefined;
  /** Deletes and returns the previous value. */
  delete(key: K): V | undefined;
  /** Pushes cached writes down the layers (they stay pending until the task commits). */
  flush(): void;
  /** Closes this store; idempotent. Usually done by the task state manager. */
  close(): Promise<void>;
}
