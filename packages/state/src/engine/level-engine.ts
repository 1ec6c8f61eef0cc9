// The LevelDB engine (classic-level): user keys under one prefix, the checkpoint under another, written in one batch.
import { mkdirSync, rmSync } from 'node:fs';
import { ClassicLevel } from 'classic-level';
import { StateStoreError } from '../errors.js';
import { concatBytes, inBounds, type KeyBounds, mapKey, toBuffer } from '../internal/bytes.js';
import { type BytesEntry, mergeOverlay, type PendingEntry, sortPending } from '../internal/merge-overlay.js';
import { type Checkpoint, decodeCheckpoint, encodeCheckpoint } from './checkpoint.js';
import type { EngineState, StoreEngine } from './store-engine.js';

/** Metadata keys start with 0x00, user keys with 0x01; user scans never leave the 0x01 range. */
const META_PREFIX = Uint8Array.of(0x00);
const DATA_PREFIX = Uint8Array.of(0x01);
const DATA_END = Uint8Array.of(0x02);
const CHECKPOINT_KEY = concatBytes(META_PREFIX, Buffer.from('checkpoint'));
/**
 * The approximate entry count, written in the same batch as the data it counts: counting a large store at open
 * (seconds at a million keys) would make a restart on local state as slow as its size.
 */
const COUNT_KEY = concatBytes(META_PREFIX, Buffer.from('count'));

type Db = ClassicLevel<Uint8Array, Uint8Array>;

export class LevelEngine implements StoreEngine {
  readonly persistent = true;
  private state: EngineState = 'created';
  private db: Db | undefined;
  /** Staged writes in write order (a key may repeat until the index exists; the batch applies the last). */
  private stagedKeys: Uint8Array[] = [];
  private stagedValues: (Uint8Array | null)[] = [];
  /**
   * Map key → position of a key's latest staged write. Built on the first read of staged writes and kept up to date
   * from then until the commit: behind a cache the engine is written at flush and committed right after, so the
   * index (a map insert per key, the larger part of staging) is usually never needed.
   */
  private index: Map<string, number> | undefined;
  private pendingRanges: KeyBounds[] = [];
  private pendingSize = 0;
  private pendingDelta = 0;
  private committedCount = 0;

  constructor(
    readonly name: string,
    readonly path: string,
  ) {}

  async open(): Promise<Checkpoint | undefined> {
    await this.openDb();
    this.state = 'open';
    const raw = this.db!.getSync(CHECKPOINT_KEY);
    const checkpoint = raw === undefined ? undefined : decodeCheckpoint(raw, this.name);
    const count = this.db!.getSync(COUNT_KEY);
    // Stores written before the count was kept are counted once.
    this.committedCount = count === undefined ? await this.countEntries() : decodeCount(count);
    return checkpoint;
  }

  get(key: Uint8Array): Uint8Array | undefined {
    this.assertOpen();
    if (this.stagedKeys.length > 0) {
      const at = this.stagedIndex().get(mapKey(key));
      if (at !== undefined) return this.stagedValues[at] ?? undefined;
    }
    if (this.pendingRanges.length > 0 && this.pendingRanges.some((b) => inBounds(key, b))) return undefined;
    return this.db!.getSync(concatBytes(DATA_PREFIX, key));
  }

  put(key: Uint8Array, value: Uint8Array | null): void {
    this.assertOpen();
    this.pendingSize += key.length + (value?.length ?? 0);
    const index = this.index;
    if (index !== undefined) {
      const id = mapKey(key);
      const at = index.get(id);
      if (at !== undefined) {
        const previous = this.stagedValues[at]!;
        this.pendingSize -= key.length + (previous?.length ?? 0);
        this.pendingDelta += (value === null ? -1 : 1) - (previous === null ? -1 : 1);
        this.stagedValues[at] = value;
        return;
      }
      index.set(id, this.stagedKeys.length);
    }
    this.stagedKeys.push(key);
    this.stagedValues.push(value);
    // Without the index a repeated write counts again; building the index recounts exactly.
    this.pendingDelta += value === null ? -1 : 1;
  }

  deleteRange(bounds: KeyBounds): void {
    this.assertOpen();
    const keys: Uint8Array[] = [];
    const values: (Uint8Array | null)[] = [];
    for (let i = 0; i < this.stagedKeys.length; i++) {
      const key = this.stagedKeys[i]!;
      const value = this.stagedValues[i]!;
      if (inBounds(key, bounds)) {
        this.pendingSize -= key.length + (value?.length ?? 0);
      } else {
        keys.push(key);
        values.push(value);
      }
    }
    this.stagedKeys = keys;
    this.stagedValues = values;
    this.index = undefined;
    this.pendingRanges.push(bounds);
  }

  async *range(bounds: KeyBounds): AsyncGenerator<BytesEntry> {
    this.assertOpen();
    const index = this.stagedIndex();
    const inRange: PendingEntry[] = [];
    for (const at of index.values()) {
      const key = this.stagedKeys[at]!;
      if (inBounds(key, bounds)) inRange.push([key, this.stagedValues[at]!]);
    }
    const staged = sortPending(inRange);
    const ranges = [...this.pendingRanges];
    const committed = this.committedRange(bounds);
    for await (const entry of mergeOverlay(committed, staged)) {
      if (ranges.length > 0 && !index.has(mapKey(entry[0])) && ranges.some((b) => inBounds(entry[0], b))) {
        continue;
      }
      yield entry;
    }
  }

  approximateNumEntries(): number {
    this.assertOpen();
    return Math.max(0, this.committedCount + this.pendingDelta);
  }

  pendingBytes(): number {
    return this.pendingSize;
  }

  async commit(checkpoint: Checkpoint): Promise<void> {
    this.assertOpen();
    const db = this.db!;
    let rangeDeleted = 0;
    try {
      const batch = db.batch();
      // LevelDB has no range delete in a batch: the keys the ranges cover are deleted one by one, first, so that
      // the staged writes (which come after the range deletes, or outside them) win.
      for (const bounds of this.pendingRanges) rangeDeleted += await this.deleteCommitted(batch, bounds);
      const keys = this.stagedKeys;
      const values = this.stagedValues;
      for (let i = 0; i < keys.length; i++) {
        const value = values[i]!;
        if (value === null) batch.del(concatBytes(DATA_PREFIX, keys[i]!));
        else batch.put(concatBytes(DATA_PREFIX, keys[i]!), toBuffer(value));
      }
      batch.put(CHECKPOINT_KEY, encodeCheckpoint(checkpoint));
      batch.put(COUNT_KEY, encodeCount(this.committedCount + this.pendingDelta - rangeDeleted));
      await batch.write();
    } catch (cause) {
      throw new StateStoreError(
        'STORE_WRITE_FAILED',
        `commit of store "${this.name}" failed; nothing written`,
        {
          cause,
          store: this.name,
        },
      );
    }
    this.clearStaged();
    this.pendingRanges = [];
    this.committedCount = Math.max(0, this.committedCount + this.pendingDelta - rangeDeleted);
    this.pendingDelta = 0;
  }

  async writeBatch(entries: readonly PendingEntry[], checkpoint: Checkpoint): Promise<void> {
    this.assertOpen();
    if (this.stagedKeys.length > 0 || this.pendingRanges.length > 0) {
      throw new StateStoreError('INVALID_STATE', `store "${this.name}" has uncommitted writes`, {
        store: this.name,
      });
    }
    const batch = this.db!.batch();
    let delta = 0;
    // The batch copies what it is given: every stored key is a view of one buffer, not an allocation of its own.
    let keyBytes = 0;
    for (const [key] of entries) keyBytes += DATA_PREFIX.length + key.length;
    const keys = Buffer.allocUnsafeSlow(keyBytes);
    let at = 0;
    for (const [key, value] of entries) {
      const start = at;
      keys.set(DATA_PREFIX, at);
      keys.set(key, at + DATA_PREFIX.length);
      at += DATA_PREFIX.length + key.length;
      const stored = keys.subarray(start, at);
      if (value === null) {
        batch.del(stored);
        delta--;
      } else {
        batch.put(stored, toBuffer(value));
        delta++;
      }
    }
    batch.put(CHECKPOINT_KEY, encodeCheckpoint(checkpoint));
    batch.put(COUNT_KEY, encodeCount(this.committedCount + delta));
    try {
      await batch.write();
    } catch (cause) {
      throw new StateStoreError('STORE_WRITE_FAILED', `restore batch of store "${this.name}" failed`, {
        cause,
        store: this.name,
      });
    }
    this.committedCount = Math.max(0, this.committedCount + delta);
  }

  async wipe(): Promise<void> {
    if (this.db !== undefined && this.db.status === 'open') await this.db.close();
    rmSync(this.path, { recursive: true, force: true });
    this.clearStaged();
    this.pendingRanges = [];
    this.pendingDelta = 0;
    this.committedCount = 0;
    await this.openDb();
    this.state = 'open';
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.clearStaged();
    await this.db?.close();
  }

  private stagedIndex(): Map<string, number> {
    if (this.index === undefined) {
      const index = new Map<string, number>();
      for (let i = 0; i < this.stagedKeys.length; i++) index.set(mapKey(this.stagedKeys[i]!), i);
      let delta = 0;
      for (const at of index.values()) delta += this.stagedValues[at] === null ? -1 : 1;
      this.pendingDelta = delta;
      this.index = index;
    }
    return this.index;
  }

  private clearStaged(): void {
    // Emptied in place: the arrays keep their capacity for the next commit's writes.
    this.stagedKeys.length = 0;
    this.stagedValues.length = 0;
    this.index = undefined;
    this.pendingSize = 0;
  }

  private async openDb(): Promise<void> {
    mkdirSync(this.path, { recursive: true });
    const db: Db = new ClassicLevel<Uint8Array, Uint8Array>(this.path, {
      keyEncoding: 'view',
      valueEncoding: 'view',
    });
    try {
      await db.open();
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause;
      const code =
        cause?.code === 'LEVEL_LOCKED'
          ? 'STORE_LOCKED'
          : cause?.code === 'LEVEL_CORRUPTION'
            ? 'STORE_CORRUPTED'
            : 'STORE_OPEN_FAILED';
      throw new StateStoreError(code, `cannot open store "${this.name}" at ${this.path}`, {
        cause: err,
        store: this.name,
      });
    }
    this.db = db;
  }

  private dataBounds(bounds: KeyBounds): { gte: Uint8Array; lt?: Uint8Array; lte?: Uint8Array } {
    const out: { gte: Uint8Array; lt?: Uint8Array; lte?: Uint8Array } = {
      gte: bounds.gte === undefined ? DATA_PREFIX : concatBytes(DATA_PREFIX, bounds.gte),
    };
    if (bounds.lte !== undefined) out.lte = concatBytes(DATA_PREFIX, bounds.lte);
    if (bounds.lt !== undefined) out.lt = concatBytes(DATA_PREFIX, bounds.lt);
    if (bounds.lt === undefined && bounds.lte === undefined) out.lt = DATA_END;
    return out;
  }

  /** Adds a delete of every committed key in `bounds` to `batch`; returns how many. */
  private async deleteCommitted(batch: ReturnType<Db['batch']>, bounds: KeyBounds): Promise<number> {
    const iterator = this.db!.keys(this.dataBounds(bounds));
    let deleted = 0;
    try {
      while (true) {
        const chunk = await iterator.nextv(10_000);
        if (chunk.length === 0) return deleted;
        for (const key of chunk) batch.del(key);
        deleted += chunk.length;
      }
    } finally {
      await iterator.close();
    }
  }

  private async *committedRange(bounds: KeyBounds): AsyncGenerator<BytesEntry> {
    const iterator = this.db!.iterator(this.dataBounds(bounds));
    try {
      while (true) {
        const chunk = await iterator.nextv(1000);
        if (chunk.length === 0) return;
        for (const [key, value] of chunk) yield [key.subarray(DATA_PREFIX.length), value];
      }
    } finally {
      await iterator.close();
    }
  }

  private async countEntries(): Promise<number> {
    const iterator = this.db!.keys({ gte: DATA_PREFIX, lt: DATA_END });
    let count = 0;
    try {
      while (true) {
        const chunk = await iterator.nextv(10_000);
        if (chunk.length === 0) return count;
        count += chunk.length;
      }
    } finally {
      await iterator.close();
    }
  }

  private assertOpen(): void {
    if (this.state !== 'open') {
      const code = this.state === 'closed' ? 'STORE_CLOSED' : 'STORE_NOT_OPEN';
      throw new StateStoreError(code, `store "${this.name}" is ${this.state}`, { store: this.name });
    }
  }
}

function encodeCount(count: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeDoubleBE(Math.max(0, count));
  return out;
}

function decodeCount(raw: Uint8Array): number {
  if (raw.length !== 8) return 0;
  const count = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).readDoubleBE(0);
  return Number.isFinite(count) && count >= 0 ? count : 0;
}
