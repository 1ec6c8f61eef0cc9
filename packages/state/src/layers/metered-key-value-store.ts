// The outermost key-value layer: serdes, lifecycle checks, replay dropping and metric hooks over the bytes layers.
import type { KeyValue, KeyValueStore } from '../api/key-value-store.js';
import type { StoreMetricsHooks, StoreOperation } from '../api/metrics.js';
import type { Serde } from '../api/serde.js';
import { type KeyBounds, prefixBounds } from '../internal/bytes.js';
import type { ReplayGuard } from '../task/replay-guard.js';
import type { BytesStore } from './bytes-store.js';
import { type CacheEntry, type CachingStore, NOT_DECODED } from './caching-store.js';
import type { StoreStatus } from './store-status.js';

export class MeteredKeyValueStore<K, V> implements KeyValueStore<K, V> {
  private readonly timed: boolean;
  /** The last key serialized and its bytes: a get followed by a put of the same key serializes it once. */
  private lastKey: K | undefined;
  private lastKeyBytes: Uint8Array | undefined;

  /**
   * The cache entry the last `get` hit and its key (primitive keys only): a read-modify-write of one key (an
   * aggregate, a count) finds its entry again without computing the cache id or looking it up. Used only while the
   * entry is still `cached`.
   */
  private lastEntry: CacheEntry | undefined;
  private lastEntryKey: K | undefined;

  /** Set when the cache is the top layer and the key serde gives cache ids: hits then skip key serialization. */
  private readonly cache: CachingStore | undefined;
  /** The cache keeps immutable values unserialized until its flush (a lossless value serde and a cache). */
  private readonly typedValues: boolean;

  constructor(
    private readonly inner: BytesStore,
    cache: CachingStore | undefined,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
    private readonly status: StoreStatus,
    private readonly guard: ReplayGuard,
    private readonly hooks: StoreMetricsHooks,
    private readonly onFlush: () => void,
    private readonly onClose: () => Promise<void>,
  ) {
    this.timed = hooks.onOperation !== undefined;
    this.cache = keySerde.cacheKey !== undefined ? cache : undefined;
    this.typedValues = this.cache !== undefined && valueSerde.lossless === true;
    if (this.typedValues)
      this.cache!.acceptTypedValues(valueSerde.serialize as (value: unknown) => Uint8Array);
  }

  get name(): string {
    return this.inner.name;
  }

  get(key: K): V | undefined {
    this.status.assertOpen();
    const started = this.timed ? performance.now() : 0;
    let value: V | undefined;
    const cache = this.cache;
    if (cache !== undefined) {
      const id = this.keySerde.cacheKey!(key);
      const entry = cache.lookup(id);
      if (entry !== undefined && typeof key !== 'object' && typeof key !== 'function') {
        this.lastEntry = entry;
        this.lastEntryKey = key;
      }
      if (entry === undefined) {
        const bytes = cache.load(id, this.serializeKey(key));
        value = bytes === undefined ? undefined : this.valueSerde.deserialize(bytes);
      } else if (entry.typed !== NOT_DECODED) {
        value = entry.typed as V;
      } else if (entry.value === null || entry.value === undefined) {
        value = undefined;
      } else {
        value = this.valueSerde.deserialize(entry.value);
        // Immutable values are kept decoded (deserialization is a pure function): the next hit skips it.
        if (isImmutable(value)) entry.typed = value;
      }
    } else {
      const bytes = this.inner.get(this.serializeKey(key));
      value = bytes === undefined ? undefined : this.valueSerde.deserialize(bytes);
    }
    if (this.timed) this.record('get', started);
    return value;
  }

  put(key: K, value: V): void {
    this.status.assertOpen();
    if (this.guard.isReplay()) return;
    const started = this.timed ? performance.now() : 0;
    const cache = this.cache;
    if (cache !== undefined && this.typedValues && isImmutable(value)) {
      // Kept typed in the cache and serialized once at flush, however often the key is written before it.
      const last = this.lastEntry;
      if (last?.cached && Object.is(key, this.lastEntryKey)) {
        cache.putTypedAt(last, value);
        if (this.timed) this.record('put', started);
        return;
      }
      const id = this.keySerde.cacheKey!(key);
      if (!cache.putTyped(id, value)) {
        cache.putNew(id, this.serializeKey(key), this.valueSerde.serialize(value), value);
      }
    } else {
      this.write(key, this.valueSerde.serialize(value));
    }
    if (this.timed) this.record('put', started);
  }

  putIfAbsent(key: K, value: V): V | undefined {
    const current = this.get(key);
    if (current === undefined) this.put(key, value);
    return current;
  }

  delete(key: K): V | undefined {
    const previous = this.get(key);
    if (this.guard.isReplay()) return previous;
    const started = this.timed ? performance.now() : 0;
    this.write(key, null);
    if (this.timed) this.record('delete', started);
    return previous;
  }

  range(from?: K, to?: K): AsyncIterableIterator<KeyValue<K, V>> {
    this.status.assertOpen();
    return this.scan({
      gte: from === undefined ? undefined : this.keySerde.serialize(from),
      lte: to === undefined ? undefined : this.keySerde.serialize(to),
    });
  }

  prefixScan(prefix: K): AsyncIterableIterator<KeyValue<K, V>> {
    this.status.assertOpen();
    return this.scan(prefixBounds(this.keySerde.serialize(prefix)));
  }

  all(): AsyncIterableIterator<KeyValue<K, V>> {
    this.status.assertOpen();
    return this.scan({});
  }

  approximateNumEntries(): number {
    this.status.assertOpen();
    return this.inner.approximateNumEntries();
  }

  flush(): void {
    this.status.assertOpen();
    this.onFlush();
  }

  close(): Promise<void> {
    return this.onClose();
  }

  private write(key: K, value: Uint8Array | null): void {
    const cache = this.cache;
    if (cache !== undefined) {
      const last = this.lastEntry;
      if (last?.cached && Object.is(key, this.lastEntryKey)) {
        cache.putBytesAt(last, value);
        return;
      }
      const id = this.keySerde.cacheKey!(key);
      if (!cache.putExisting(id, value)) cache.putNew(id, this.serializeKey(key), value);
    } else {
      this.inner.put(this.serializeKey(key), value);
    }
  }

  private serializeKey(key: K): Uint8Array {
    if (this.lastKeyBytes !== undefined && Object.is(key, this.lastKey)) return this.lastKeyBytes;
    const bytes = this.keySerde.serialize(key);
    // Objects may be mutated between calls; only primitive keys are remembered.
    if (typeof key !== 'object' && typeof key !== 'function') {
      this.lastKey = key;
      this.lastKeyBytes = bytes;
    }
    return bytes;
  }

  private async *scan(bounds: KeyBounds): AsyncGenerator<KeyValue<K, V>> {
    const started = this.timed ? performance.now() : 0;
    for await (const [key, value] of this.inner.range(bounds)) {
      this.status.assertOpen();
      yield { key: this.keySerde.deserialize(key), value: this.valueSerde.deserialize(value) };
    }
    if (this.timed) this.record('range', started);
  }

  private record(operation: StoreOperation, started: number): void {
    this.hooks.onOperation!(this.name, operation, Math.round((performance.now() - started) * 1e6));
  }
}

/**
 * Values a cache may hand out and keep unserialized: nothing can change them behind the store's back. Numbers,
 * booleans, bigints, and frozen objects (whoever freezes a value vouches that nothing inside it can change either;
 * e.g. an aggregate with its timestamp).
 */
function isImmutable(value: unknown): boolean {
  const type = typeof value;
  return (
    type === 'number' ||
    type === 'boolean' ||
    type === 'bigint' ||
    (type === 'object' && value !== null && Object.isFrozen(value))
  );
}
