// The caching layer: write-back, bounded in bytes, de-duplicating; dirty entries leave only on flush.
import type { StoreMetricsHooks } from '../api/metrics.js';
import { inBounds, type KeyBounds, mapKey } from '../internal/bytes.js';
import { type BytesEntry, mergeOverlay, type PendingEntry, sortPending } from '../internal/merge-overlay.js';
import type { BytesStore } from './bytes-store.js';

/** Approximate bookkeeping cost of one cache entry beyond its key and value bytes. */
const ENTRY_OVERHEAD_BYTES = 64;

export interface CacheEntry {
  readonly key: Uint8Array;
  /** null: the key is known to be absent (a delete, or a miss below). */
  value: Uint8Array | null;
  /** Set on each hit of a clean entry; eviction gives such an entry a second chance instead of moving it per hit. */
  referenced: boolean;
}

const sizeOf = (e: CacheEntry) => e.key.length + (e.value?.length ?? 0) + ENTRY_OVERHEAD_BYTES;

/**
 * Entries are found by an id string: `mapKey(bytes)` by default, or an id the typed layer derives from its key
 * (see `Serde.cacheKey`), which must be equal exactly when the serialized keys are. One store uses one kind of id.
 */
export class CachingStore implements BytesStore {
  private readonly dirty = new Map<string, CacheEntry>();
  /** Clean entries, oldest first. */
  private readonly clean = new Map<string, CacheEntry>();
  private dirtySize = 0;
  private cleanSize = 0;
  private lastKey: Uint8Array | undefined;
  private lastId = '';
  private evictCursor: MapIterator<[string, CacheEntry]> | undefined;

  constructor(
    private readonly inner: BytesStore,
    readonly maxBytes: number,
    private readonly hooks: StoreMetricsHooks = {},
  ) {}

  get name(): string {
    return this.inner.name;
  }

  get(key: Uint8Array): Uint8Array | undefined {
    const id = this.idOf(key);
    const entry = this.lookup(id);
    if (entry !== undefined) return entry.value ?? undefined;
    return this.load(id, key);
  }

  /** The cached entry for `id`, or undefined on a miss (then call `load`). */
  lookup(id: string): CacheEntry | undefined {
    let entry = this.dirty.get(id);
    if (entry === undefined) {
      entry = this.clean.get(id);
      if (entry !== undefined) entry.referenced = true;
    }
    this.hooks.onCacheLookup?.(this.name, entry !== undefined);
    return entry;
  }

  /** Reads `key` from below after a miss and caches the answer (absence included) as clean. */
  load(id: string, key: Uint8Array): Uint8Array | undefined {
    const value = this.inner.get(key);
    const entry: CacheEntry = { key, value: value ?? null, referenced: false };
    this.clean.set(id, entry);
    this.cleanSize += sizeOf(entry);
    if (this.dirtySize + this.cleanSize > this.maxBytes) this.evictClean();
    return value;
  }

  put(key: Uint8Array, value: Uint8Array | null): void {
    const id = this.idOf(key);
    if (!this.putExisting(id, value)) this.putNew(id, key, value);
  }

  /** Updates a cached entry; false when `id` is not cached (then call `putNew` with the key bytes). */
  putExisting(id: string, value: Uint8Array | null): boolean {
    const dirty = this.dirty.get(id);
    if (dirty !== undefined) {
      this.dirtySize += (value?.length ?? 0) - (dirty.value?.length ?? 0);
      dirty.value = value;
    } else {
      const clean = this.clean.get(id);
      if (clean === undefined) return false;
      this.clean.delete(id);
      this.cleanSize -= sizeOf(clean);
      this.putNew(id, clean.key, value);
      return true;
    }
    if (this.dirtySize + this.cleanSize > this.maxBytes) this.evictClean();
    return true;
  }

  putNew(id: string, key: Uint8Array, value: Uint8Array | null): void {
    const entry: CacheEntry = { key, value, referenced: false };
    this.dirty.set(id, entry);
    this.dirtySize += sizeOf(entry);
    if (this.dirtySize + this.cleanSize > this.maxBytes) this.evictClean();
  }

  deleteRange(bounds: KeyBounds): void {
    for (const [id, entry] of this.dirty) {
      if (inBounds(entry.key, bounds)) {
        this.dirty.delete(id);
        this.dirtySize -= sizeOf(entry);
      }
    }
    for (const [id, entry] of this.clean) {
      if (inBounds(entry.key, bounds)) {
        this.clean.delete(id);
        this.cleanSize -= sizeOf(entry);
      }
    }
    this.inner.deleteRange(bounds);
  }

  range(bounds: KeyBounds): AsyncIterable<BytesEntry> {
    const staged: PendingEntry[] = [];
    for (const entry of this.dirty.values()) {
      if (inBounds(entry.key, bounds)) staged.push([entry.key, entry.value]);
    }
    return mergeOverlay(this.inner.range(bounds), sortPending(staged));
  }

  approximateNumEntries(): number {
    return this.inner.approximateNumEntries() + this.dirty.size;
  }

  /** Sends every dirty entry down the layers (each key once, with its latest value); they become clean. */
  flush(): void {
    for (const [id, entry] of this.dirty) {
      this.inner.put(entry.key, entry.value);
      this.clean.set(id, entry);
    }
    this.cleanSize += this.dirtySize;
    this.dirty.clear();
    this.dirtySize = 0;
    this.evictClean();
  }

  /** True when dirty entries alone exceed the bound: the task should commit (dirty entries are never evicted). */
  overBound(): boolean {
    return this.dirtySize > this.maxBytes;
  }

  /** Bytes held (dirty and clean), for tests and metrics. */
  sizeBytes(): number {
    return this.dirtySize + this.cleanSize;
  }

  dirtyCount(): number {
    return this.dirty.size;
  }

  /** Drops every entry, dirty ones included (used when the data below is replaced, e.g. restore or wipe). */
  clear(): void {
    this.dirty.clear();
    this.clean.clear();
    this.dirtySize = 0;
    this.cleanSize = 0;
    this.lastKey = undefined;
    this.evictCursor = undefined;
  }

  private idOf(key: Uint8Array): string {
    if (key !== this.lastKey) {
      this.lastKey = key;
      this.lastId = mapKey(key);
    }
    return this.lastId;
  }

  private evictClean(): void {
    // Second chance: a referenced entry moves to the young end once. The cursor lives across calls because a fresh
    // Map iterator would first skip every slot deleted since the table was last rehashed (quadratic under churn).
    let budget = this.clean.size * 2;
    while (this.dirtySize + this.cleanSize > this.maxBytes && budget-- > 0) {
      let next = this.evictCursor?.next();
      if (next === undefined || next.done === true) {
        this.evictCursor = this.clean.entries();
        next = this.evictCursor.next();
        if (next.done === true) return;
      }
      const [id, entry] = next.value;
      this.clean.delete(id);
      if (entry.referenced) {
        entry.referenced = false;
        this.clean.set(id, entry);
      } else {
        this.cleanSize -= sizeOf(entry);
      }
    }
  }
}
