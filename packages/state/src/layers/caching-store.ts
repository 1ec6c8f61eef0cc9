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
  /** The id this cache finds the entry by. */
  readonly id: string;
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
  /**
   * True while this cache holds the entry; false once it is evicted, range-deleted or cleared (or when `loadEntry`
   * did not cache it). A typed layer that keeps entries in an index of its own checks this before using one.
   */
  cached: boolean;
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
  /**
   * Counts the moments entries may have reached the layers below without being in this cache (each flush and each
   * clear): a typed layer that saw no change here knows that a key it wrote since is still cached.
   */
  writesBelow = 0;
  /** Counts the entries dropped so far (evicted, range-deleted, cleared): when to sweep an index of entries. */
  removals = 0;
  /** Lookups answered from the cache, lookups that missed, and entries evicted for space (read by metrics). */
  hits = 0;
  misses = 0;
  evictions = 0;

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
    if (entry !== undefined) {
      entry.referenced = true;
      this.hits++;
    } else {
      this.misses++;
    }
    this.hooks.onCacheLookup?.(this.name, entry !== undefined);
    return entry;
  }

  /** Counts a read that a typed layer answered from an entry it found itself (`cached` entries only), or a miss. */
  noteLookup(entry: CacheEntry | undefined): void {
    if (entry !== undefined) {
      entry.referenced = true;
      this.hits++;
    } else {
      this.misses++;
    }
    this.hooks.onCacheLookup?.(this.name, entry !== undefined);
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
    return this.loadEntry(id, key).value ?? undefined;
  }

  /**
   * As `load`, giving the entry of the answer (value null: absent); not cached (`cached` false) when dirty entries
   * alone fill the cache: a commit is due, and caching the answer would only evict it again.
   */
  loadEntry(id: string, key: Uint8Array): CacheEntry {
    const value = this.inner.get(key);
    const entry: CacheEntry = {
      id,
      key,
      value: value ?? null,
      typed: NOT_DECODED,
      valueSize: value?.length ?? 0,
      dirty: false,
      referenced: false,
      cached: false,
    };
    if (this.dirtySize > this.maxBytes) return entry;
    entry.cached = true;
    this.entries.set(id, entry);
    this.cleanSize += key.length + entry.valueSize + ENTRY_OVERHEAD_BYTES;
    if (this.dirtySize + this.cleanSize > this.maxBytes) this.evictClean();
    return entry;
  }

  put(key: Uint8Array, value: Uint8Array | null): void {
    const id = this.idOf(key);
    if (!this.putExisting(id, value)) this.putNew(id, key, value);
  }

  /** Updates a cached entry; false when `id` is not cached (then call `putNew` with the key bytes). */
  putExisting(id: string, value: Uint8Array | null): boolean {
    const entry = this.entries.get(id);
    if (entry === undefined) return false;
    this.putBytesAt(entry, value);
    return true;
  }

  /** Writes `value` into a cached entry (`cached` true) found by the caller. */
  putBytesAt(entry: CacheEntry, value: Uint8Array | null): void {
    this.update(entry, value, NOT_DECODED, value?.length ?? 0);
  }

  /**
   * Updates a cached entry with a typed value (an immutable primitive) serialized at flush; false when `id` is not
   * cached. The byte bound counts the entry's last known value size until then.
   */
  putTyped(id: string, typed: unknown): boolean {
    const entry = this.entries.get(id);
    if (entry === undefined) return false;
    this.putTypedAt(entry, typed);
    return true;
  }

  /** As `putTyped`, into a cached entry (`cached` true) found by the caller. */
  putTypedAt(entry: CacheEntry, typed: unknown): void {
    this.update(entry, undefined, typed, entry.valueSize);
  }

  /** Caches a new dirty entry under `id` (which must not be cached) and returns it. */
  putNew(id: string, key: Uint8Array, value: Uint8Array | null, typed: unknown = NOT_DECODED): CacheEntry {
    const entry: CacheEntry = {
      id,
      key,
      value,
      typed,
      valueSize: value?.length ?? 0,
      dirty: true,
      referenced: true,
      cached: true,
    };
    this.entries.set(id, entry);
    this.dirtyList.push(entry);
    this.dirtySize += key.length + entry.valueSize + ENTRY_OVERHEAD_BYTES;
    if (this.cleanSize > 0 && this.dirtySize + this.cleanSize > this.maxBytes) this.evictClean();
    return entry;
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
    for (const entry of this.entries.values()) {
      if (inBounds(entry.key, bounds)) removedDirty = this.drop(entry) || removedDirty;
    }
    // A removed entry is clean now and no longer in the map; the dirty list forgets it.
    if (removedDirty) this.dirtyList = this.dirtyList.filter((e) => e.dirty);
    this.inner.deleteRange(bounds);
  }

  /**
   * As `deleteRange`, for a typed layer that knows the cached entries in `bounds`: it passes them all (entries no
   * longer `cached` are skipped), and the cache drops them without visiting the others.
   */
  deleteRangeOf(bounds: KeyBounds, entries: Iterable<CacheEntry>): void {
    let removedDirty = false;
    for (const entry of entries) if (entry.cached) removedDirty = this.drop(entry) || removedDirty;
    if (removedDirty) this.dirtyList = this.dirtyList.filter((e) => e.dirty);
    this.inner.deleteRange(bounds);
  }

  /** Removes a cached entry; true when it was dirty (then the caller filters the dirty list). */
  private drop(entry: CacheEntry): boolean {
    this.entries.delete(entry.id);
    entry.cached = false;
    this.removals++;
    const size = entry.key.length + entry.valueSize + ENTRY_OVERHEAD_BYTES;
    if (!entry.dirty) {
      this.cleanSize -= size;
      return false;
    }
    this.dirtySize -= size;
    entry.dirty = false;
    return true;
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
    this.writesBelow++;
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
    this.writesBelow++;
    for (const entry of this.entries.values()) entry.cached = false;
    this.removals += this.entries.size;
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
        entry.cached = false;
        this.removals++;
        this.evictions++;
      }
    }
  }
}
