// The caching layer: write-back, bounded in bytes, de-duplicating; dirty entries leave only on flush.
import type { StoreMetricsHooks } from '../api/metrics.js';
import { inBounds, type KeyBounds, mapKey, toBuffer } from '../internal/bytes.js';
import { type BytesEntry, mergeOverlay, type PendingEntry, sortPending } from '../internal/merge-overlay.js';
import type { BytesStore } from './bytes-store.js';

/** Approximate bookkeeping cost of one cache entry beyond its key and value bytes. */
const ENTRY_OVERHEAD_BYTES = 64;

/** `CacheEntry.typed` when the entry holds no decoded value. */
export const NOT_DECODED: unique symbol = Symbol('not decoded');

export interface CacheEntry {
  readonly key: Uint8Array;
  /**
   * The value's bytes; null: the key is known to be absent (a delete, or a miss below). undefined: not serialized
   * yet, `typed` holds the value (only on dirty entries; the flush serializes it).
   */
  value: Uint8Array | null | undefined;
  /** The value as the typed layer last wrote or decoded it (immutable primitives only), or NOT_DECODED. */
  typed: unknown;
  /** Value bytes accounted for this entry: the serialized length, or the last known one while not serialized. */
  valueSize: number;
  dirty: boolean;
  /** Set on each hit of a clean entry; eviction gives such an entry a second chance instead of moving it per hit. */
  referenced: boolean;
}

/**
 * Entries are found by an id string: `mapKey(bytes)` by default, or an id the typed layer derives from its key
 * (see `Serde.cacheKey`), which must be equal exactly when the serialized keys are. One store uses one kind of id.
 * One map holds every entry (oldest first, the eviction order); dirty entries are also listed in write order, so a
 * write or a flush flips a flag instead of moving entries between maps.
 */
export class CachingStore implements BytesStore {
  private readonly entries = new Map<string, CacheEntry>();
  /** Dirty entries in the order they became dirty; flushed in that order. */
  private dirtyList: CacheEntry[] = [];
  private dirtySize = 0;
  private cleanSize = 0;
  private lastKey: Uint8Array | undefined;
  private lastId = '';
  private evictCursor: MapIterator<[string, CacheEntry]> | undefined;
  private serializeTyped: ((value: unknown) => Uint8Array) | undefined;

  constructor(
    private readonly inner: BytesStore,
    readonly maxBytes: number,
    private readonly hooks: StoreMetricsHooks = {},
  ) {}

  get name(): string {
    return this.inner.name;
  }

  /** Lets the typed layer store values unserialized (`putTyped`); `serialize` turns them into bytes at flush. */
  acceptTypedValues(serialize: (value: unknown) => Uint8Array): void {
    this.serializeTyped = serialize;
  }

  get(key: Uint8Array): Uint8Array | undefined {
    const id = this.idOf(key);
    const entry = this.lookup(id);
    if (entry !== undefined) return this.bytesOf(entry) ?? undefined;
    return this.load(id, key);
  }

  /** The cached entry for `id`, or undefined on a miss (then call `load`). */
  lookup(id: string): CacheEntry | undefined {
    const entry = this.entries.get(id);
    if (entry !== undefined) entry.referenced = true;
    this.hooks.onCacheLookup?.(this.name, entry !== undefined);
    return entry;
  }

  /** The entry's value bytes (null: absent), serializing a typed value first if needed. */
  bytesOf(entry: CacheEntry): Uint8Array | null {
    let value = entry.value;
    if (value === undefined) {
      // As a Buffer now: the changelog record and the engine's batch share it, and the serializer's array dies young.
      value = toBuffer(this.serializeTyped!(entry.typed));
      entry.value = value;
      this.dirtySize += value.length - entry.valueSize;
      entry.valueSize = value.length;
    }
    return value;
  }

  /** Reads `key` from below after a miss and caches the answer (absence included) as clean. */
  load(id: string, key: Uint8Array): Uint8Array | undefined {
    const value = this.inner.get(key);
    // Dirty entries alone fill the cache: a commit is due; caching the answer would only evict it again.
    if (this.dirtySize > this.maxBytes) return value;
    const entry: CacheEntry = {
      key,
      value: value ?? null,
      typed: NOT_DECODED,
      valueSize: value?.length ?? 0,
      dirty: false,
      referenced: false,
    };
    this.entries.set(id, entry);
    this.cleanSize += key.length + entry.valueSize + ENTRY_OVERHEAD_BYTES;
    if (this.dirtySize + this.cleanSize > this.maxBytes) this.evictClean();
    return value;
  }

  put(key: Uint8Array, value: Uint8Array | null): void {
    const id = this.idOf(key);
    if (!this.putExisting(id, value)) this.putNew(id, key, value);
  }

  /** Updates a cached entry; false when `id` is not cached (then call `putNew` with the key bytes). */
  putExisting(id: string, value: Uint8Array | null): boolean {
    const entry = this.entries.get(id);
    if (entry === undefined) return false;
    this.update(entry, value, NOT_DECODED, value?.length ?? 0);
    return true;
  }

  /**
   * Updates a cached entry with a typed value (an immutable primitive) serialized at flush; false when `id` is not
   * cached. The byte bound counts the entry's last known value size until then.
   */
  putTyped(id: string, typed: unknown): boolean {
    const entry = this.entries.get(id);
    if (entry === undefined) return false;
    this.update(entry, undefined, typed, entry.valueSize);
    return true;
  }

  putNew(id: string, key: Uint8Array, value: Uint8Array | null, typed: unknown = NOT_DECODED): void {
    const entry: CacheEntry = {
      key,
      value,
      typed,
      valueSize: value?.length ?? 0,
      dirty: true,
      referenced: true,
    };
    this.entries.set(id, entry);
    this.dirtyList.push(entry);
    this.dirtySize += key.length + entry.valueSize + ENTRY_OVERHEAD_BYTES;
    if (this.cleanSize > 0 && this.dirtySize + this.cleanSize > this.maxBytes) this.evictClean();
  }

  private update(
    entry: CacheEntry,
    value: Uint8Array | null | undefined,
    typed: unknown,
    valueSize: number,
  ): void {
    if (entry.dirty) {
      this.dirtySize += valueSize - entry.valueSize;
    } else {
      const size = entry.key.length + entry.valueSize + ENTRY_OVERHEAD_BYTES;
      this.cleanSize -= size;
      this.dirtySize += size + valueSize - entry.valueSize;
      entry.dirty = true;
      entry.referenced = true;
      this.dirtyList.push(entry);
    }
    entry.value = value;
    entry.typed = typed;
    entry.valueSize = valueSize;
    if (this.cleanSize > 0 && this.dirtySize + this.cleanSize > this.maxBytes) this.evictClean();
  }

  deleteRange(bounds: KeyBounds): void {
    let removedDirty = false;
    for (const [id, entry] of this.entries) {
      if (!inBounds(entry.key, bounds)) continue;
      this.entries.delete(id);
      const size = entry.key.length + entry.valueSize + ENTRY_OVERHEAD_BYTES;
      if (entry.dirty) {
        this.dirtySize -= size;
        entry.dirty = false;
        removedDirty = true;
      } else {
        this.cleanSize -= size;
      }
    }
    // A removed entry is clean now and no longer in the map; the dirty list forgets it.
    if (removedDirty) this.dirtyList = this.dirtyList.filter((e) => e.dirty);
    this.inner.deleteRange(bounds);
  }

  range(bounds: KeyBounds): AsyncIterable<BytesEntry> {
    const staged: PendingEntry[] = [];
    for (const entry of this.dirtyList) {
      if (inBounds(entry.key, bounds)) staged.push([entry.key, this.bytesOf(entry)]);
    }
    return mergeOverlay(this.inner.range(bounds), sortPending(staged));
  }

  approximateNumEntries(): number {
    return this.inner.approximateNumEntries() + this.dirtyList.length;
  }

  /** Sends every dirty entry down the layers (each key once, with its latest value); they become clean. */
  flush(): void {
    const dirty = this.dirtyList;
    // Serialize first: a serializer that throws leaves every entry dirty and nothing sent down.
    for (let i = 0; i < dirty.length; i++) this.bytesOf(dirty[i]!);
    for (let i = 0; i < dirty.length; i++) {
      const entry = dirty[i]!;
      entry.dirty = false;
      this.inner.put(entry.key, entry.value as Uint8Array | null);
    }
    // Emptied in place: the list keeps its capacity for the next round of writes.
    dirty.length = 0;
    this.cleanSize += this.dirtySize;
    this.dirtySize = 0;
    if (this.cleanSize > this.maxBytes) this.evictClean();
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
    return this.dirtyList.length;
  }

  /** Drops every entry, dirty ones included (used when the data below is replaced, e.g. restore or wipe). */
  clear(): void {
    this.entries.clear();
    this.dirtyList = [];
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
    // Second chance: a referenced entry moves to the young end once; dirty entries are passed over. The cursor lives
    // across calls because a fresh Map iterator would first skip every slot deleted since the table was last
    // rehashed (quadratic under churn), and so that runs of dirty entries are passed once per cycle, not per call.
    let budget = this.entries.size * 2;
    while (this.cleanSize > 0 && this.dirtySize + this.cleanSize > this.maxBytes && budget-- > 0) {
      let next = this.evictCursor?.next();
      if (next === undefined || next.done === true) {
        this.evictCursor = this.entries.entries();
        next = this.evictCursor.next();
        if (next.done === true) return;
      }
      const [id, entry] = next.value;
      if (entry.dirty) continue;
      this.entries.delete(id);
      if (entry.referenced) {
        entry.referenced = false;
        this.entries.set(id, entry);
      } else {
        this.cleanSize -= entry.key.length + entry.valueSize + ENTRY_OVERHEAD_BYTES;
      }
    }
  }
}
