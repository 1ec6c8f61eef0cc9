// The typed window store over the bytes layers: segmented keys, retention by range delete, serdes, replay dropping.
import type { WindowedKeyValue, WindowStore } from '../api/window-store.js';
import { inBounds, type KeyBounds } from '../internal/bytes.js';
import { type CacheEntry, type CachingStore, NOT_DECODED } from '../layers/caching-store.js';
import {
  assertTime,
  decodeSegmentedKey,
  encodeSegmentedKey,
  keyTimeBounds,
  segmentBounds,
  segmentOf,
} from './segmented-key.js';
import { SegmentedStore } from './segmented-store.js';

export class MeteredWindowStore<K, V> extends SegmentedStore<K, V> implements WindowStore<K, V> {
  /**
   * The cache's entries of this store by window start, then key id (the key serde's `cacheKey`): found without
   * building the cache's id string. Holds every entry this store put into the cache; entries the cache dropped
   * (`cached` false) stay until met or swept.
   */
  private readonly byStart = new Map<number, Map<string, CacheEntry>>();
  private indexed = 0;
  private removalsSwept = 0;
  /** The last primitive key and window start, with their entry: the put after a fetch of one window finds it here. */
  private lastKey: K | undefined;
  private lastStart = -1;
  private lastEntry: CacheEntry | undefined;
  /**
   * Window starts from here up were first written after the cache last sent entries below (see
   * `CachingStore.writesBelow`): their entries are all in the cache (dirty entries are never evicted), so a cache
   * miss means absent and needs no read below. New windows of in-order input are the common case.
   */
  private cachedOnlyFrom = Number.POSITIVE_INFINITY;
  private seenWritesBelow = -1;
  /** Where retention range-deletes expired segments: through the index when there is one (see `dropExpired`). */
  private readonly expiry = { deleteRange: (bounds: KeyBounds) => this.dropExpired(bounds) };
  /** Set on first use: the cache keeps immutable values unserialized until its flush (see `Serde.lossless`). */
  private typedValues: boolean | undefined;

  put(key: K, value: V | null, windowStart: number): void {
    this.status.assertOpen();
    assertTime('windowStart', windowStart);
    if (this.guard.isReplay()) return;
    this.retention.observe(windowStart, this.expiry);
    if (this.retention.isExpired(windowStart)) return;
    const cache = this.idCache();
    if (cache !== undefined) {
      // Cache hits find the entry by window start and the key serde's cacheKey: the key is not serialized.
      const entry = this.cachedEntry(key, windowStart);
      if (value !== null && this.keepsTyped(cache) && isImmutable(value)) {
        if (entry !== undefined) cache.putTypedAt(entry, value);
        else this.putNew(cache, key, windowStart, this.valueSerde.serialize(value), value);
        return;
      }
      const bytes = value === null ? null : this.valueSerde.serialize(value);
      if (entry !== undefined) cache.putBytesAt(entry, bytes);
      else this.putNew(cache, key, windowStart, bytes, NOT_DECODED);
      return;
    }
    this.inner.put(this.storeKey(key, windowStart), value === null ? null : this.valueSerde.serialize(value));
  }

  fetch(key: K, windowStart: number): V | undefined {
    this.status.assertOpen();
    assertTime('windowStart', windowStart);
    if (this.retention.isExpired(windowStart)) return undefined;
    const cache = this.idCache();
    if (cache === undefined) {
      const bytes = this.inner.get(this.storeKey(key, windowStart));
      return bytes === undefined ? undefined : this.valueSerde.deserialize(bytes);
    }
    const entry = this.cachedEntry(key, windowStart);
    cache.noteLookup(entry);
    if (entry === undefined) {
      if (cache.writesBelow !== this.seenWritesBelow) {
        this.seenWritesBelow = cache.writesBelow;
        this.cachedOnlyFrom = this.retention.streamTime + 1;
      }
      if (windowStart >= this.cachedOnlyFrom) return undefined;
      const loaded = cache.loadEntry(this.cacheId(key, windowStart), this.storeKey(key, windowStart));
      if (loaded.cached) this.remember(cache, key, windowStart, loaded);
      return loaded.value === null ? undefined : this.valueSerde.deserialize(loaded.value!);
    }
    if (entry.typed !== NOT_DECODED) return entry.typed as V;
    if (entry.value === null || entry.value === undefined) return undefined;
    const value = this.valueSerde.deserialize(entry.value);
    // Immutable values are kept decoded (deserialization is a pure function): the next hit skips it.
    if (isImmutable(value)) entry.typed = value;
    return value;
  }

  private keepsTyped(cache: CachingStore): boolean {
    if (this.typedValues === undefined) {
      this.typedValues = this.valueSerde.lossless === true;
      if (this.typedValues)
        cache.acceptTypedValues(this.valueSerde.serialize as (value: unknown) => Uint8Array);
    }
    return this.typedValues;
  }

  /** The cache when entries can be found by key id (the key serde has `cacheKey` and the cache is the top layer). */
  private idCache() {
    return this.keySerde.cacheKey === undefined ? undefined : this.cache;
  }

  /** The cache's entry of `key` at `windowStart`, or undefined when the cache does not hold it. */
  private cachedEntry(key: K, windowStart: number): CacheEntry | undefined {
    const last = this.lastEntry;
    if (key === this.lastKey && windowStart === this.lastStart && last?.cached) return last;
    const window = this.byStart.get(windowStart);
    if (window === undefined) return undefined;
    // Every entry this store put into the cache is in the index (the cache holds no others): a miss is a miss.
    const keyId = this.keySerde.cacheKey!(key);
    const entry = window.get(keyId);
    if (entry === undefined) return undefined;
    if (!entry.cached) {
      window.delete(keyId);
      this.indexed--;
      return undefined;
    }
    this.remembered(key, windowStart, entry);
    return entry;
  }

  /** Drops the cache's entries of expired segments by the index (no walk over the whole cache), then the range. */
  private dropExpired(bounds: KeyBounds): void {
    const cache = this.idCache();
    if (cache === undefined) {
      this.inner.deleteRange(bounds);
      return;
    }
    const expired: CacheEntry[] = [];
    for (const [start, window] of this.byStart) {
      // The entries of one window start share its segment: one key tells whether all are in the range.
      const first = window.values().next();
      if (first.done !== true && !inBounds(first.value.key, bounds)) continue;
      for (const entry of window.values()) expired.push(entry);
      this.indexed -= window.size;
      this.byStart.delete(start);
    }
    cache.deleteRangeOf(bounds, expired);
  }

  private putNew(
    cache: CachingStore,
    key: K,
    windowStart: number,
    bytes: Uint8Array | null,
    typed: unknown,
  ): void {
    const entry = cache.putNew(this.cacheId(key, windowStart), this.storeKey(key, windowStart), bytes, typed);
    this.remember(cache, key, windowStart, entry);
  }

  private remember(cache: CachingStore, key: K, windowStart: number, entry: CacheEntry): void {
    this.index(cache, windowStart, this.keySerde.cacheKey!(key), entry);
    this.remembered(key, windowStart, entry);
  }

  private remembered(key: K, windowStart: number, entry: CacheEntry): void {
    if (typeof key === 'object' || typeof key === 'function') return;
    this.lastKey = key;
    this.lastStart = windowStart;
    this.lastEntry = entry;
  }

  private index(cache: CachingStore, windowStart: number, keyId: string, entry: CacheEntry): void {
    // Sweep the entries the cache dropped once they may be a third of the index: amortized O(1) per insert.
    if (cache.removals - this.removalsSwept > this.indexed / 2) this.sweep(cache);
    let window = this.byStart.get(windowStart);
    if (window === undefined) {
      window = new Map();
      this.byStart.set(windowStart, window);
    }
    const size = window.size;
    window.set(keyId, entry);
    this.indexed += window.size - size;
  }

  private sweep(cache: CachingStore): void {
    this.removalsSwept = cache.removals;
    for (const [start, window] of this.byStart) {
      for (const [keyId, entry] of window) {
        if (entry.cached) continue;
        window.delete(keyId);
        this.indexed--;
      }
      if (window.size === 0) this.byStart.delete(start);
    }
  }

  /** The cache's id of an entry: equal exactly when the stored keys are (key id and window start, which gives the segment). */
  private cacheId(key: K, windowStart: number): string {
    return `${windowStart}\u0000${this.keySerde.cacheKey!(key)}`;
  }

  private storeKey(key: K, windowStart: number): Uint8Array {
    const segment = segmentOf(windowStart, this.retention.segmentIntervalMs);
    return encodeSegmentedKey(segment, this.keySerde.serialize(key), [windowStart]);
  }

  fetchRange(key: K, timeFrom: number, timeTo: number): AsyncIterableIterator<WindowedKeyValue<K, V>> {
    this.status.assertOpen();
    assertTime('timeFrom', timeFrom);
    assertTime('timeTo', timeTo);
    return this.scanKey(this.keySerde.serialize(key), timeFrom, timeTo);
  }

  fetchAll(timeFrom: number, timeTo: number): AsyncIterableIterator<WindowedKeyValue<K, V>> {
    this.status.assertOpen();
    assertTime('timeFrom', timeFrom);
    assertTime('timeTo', timeTo);
    const from = Math.max(timeFrom, this.retention.lowestLive());
    const interval = this.retention.segmentIntervalMs;
    const last = segmentOf(timeTo, interval);
    const bounds = segmentBounds(
      segmentOf(from, interval),
      last === Number.MAX_SAFE_INTEGER ? undefined : last + 1,
    );
    return this.scan(bounds, from, timeTo);
  }

  private async *scanKey(
    key: Uint8Array,
    timeFrom: number,
    timeTo: number,
  ): AsyncGenerator<WindowedKeyValue<K, V>> {
    const from = Math.max(timeFrom, this.retention.lowestLive());
    if (from > timeTo) return;
    const interval = this.retention.segmentIntervalMs;
    // Without an observed stream time the last segment is unknown: stop at the requested end instead.
    const upper = this.retention.streamTime >= 0 ? Math.min(timeTo, this.retention.streamTime) : timeTo;
    const lastSegment = segmentOf(upper, interval);
    const firstSegment = segmentOf(from, interval);
    if (lastSegment - firstSegment > 10_000) {
      const bounds = segmentBounds(firstSegment, lastSegment + 1);
      for await (const entry of this.scan(bounds, from, timeTo)) {
        if (Buffer.compare(this.keySerde.serialize(entry.key), key) === 0) yield entry;
      }
      return;
    }
    for (let segment = firstSegment; segment <= lastSegment; segment++) {
      yield* this.scan(keyTimeBounds(segment, key, from, timeTo), from, timeTo);
    }
  }

  private async *scan(bounds: KeyBounds, from: number, to: number): AsyncGenerator<WindowedKeyValue<K, V>> {
    for await (const [bytes, value] of this.inner.range(bounds)) {
      this.status.assertOpen();
      const decoded = decodeSegmentedKey(bytes, 1);
      const windowStart = decoded.times[0]!;
      if (windowStart < from || windowStart > to || this.retention.isExpired(windowStart)) continue;
      yield {
        key: this.keySerde.deserialize(decoded.key),
        windowStart,
        value: this.valueSerde.deserialize(value),
      };
    }
  }
}

/**
 * Values a cache may hand out and keep unserialized: primitives, and frozen objects (whoever freezes a value vouches
 * that nothing inside it can change either).
 */
function isImmutable(value: unknown): boolean {
  return value !== null && value !== undefined && Object.isFrozen(value);
}
