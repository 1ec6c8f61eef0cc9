// The LevelDB engine (classic-level): user keys under one prefix, the checkpoint under another, written in one batch.
import { mkdirSync, rmSync } from 'node:fs';
import { ClassicLevel } from 'classic-level';
import { StateStoreError } from '../errors.js';
import { concatBytes, inBounds, type KeyBounds, mapKey } from '../internal/bytes.js';
import { type BytesEntry, mergeOverlay, type PendingEntry, sortPending } from '../internal/merge-overlay.js';
import { type Checkpoint, decodeCheckpoint, encodeCheckpoint } from './checkpoint.js';
import type { EngineState, StoreEngine } from './store-engine.js';

/** Metadata keys start with 0x00, user keys with 0x01; user scans never leave the 0x01 range. */
const META_PREFIX = Uint8Array.of(0x00);
const DATA_PREFIX = Uint8Array.of(0x01);
const DATA_END = Uint8Array.of(0x02);
const CHECKPOINT_KEY = concatBytes(META_PREFIX, Buffer.from('checkpoint'));

type Db = ClassicLevel<Uint8Array, Uint8Array>;

export class LevelEngine implements StoreEngine {
  readonly persistent = true;
  private state: EngineState = 'created';
  private db: Db | undefined;
  private readonly pending = new Map<string, PendingEntry>();
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
    this.committedCount = await this.countEntries();
    return checkpoint;
  }

  get(key: Uint8Array): Uint8Array | undefined {
    this.assertOpen();
    const staged = this.pending.get(mapKey(key));
    if (staged !== undefined) return staged[1] ?? undefined;
    if (this.pendingRanges.length > 0 && this.pendingRanges.some((b) => inBounds(key, b))) return undefined;
    return this.db!.getSync(concatBytes(DATA_PREFIX, key));
  }

  put(key: Uint8Array, value: Uint8Array | null): void {
    this.assertOpen();
    const id = mapKey(key);
    const previous = this.pending.get(id);
    if (previous !== undefined) {
      this.pendingSize -= previous[0].length + (previous[1]?.length ?? 0);
      this.pendingDelta -= previous[1] === null ? -1 : 1;
    }
    this.pending.set(id, [key, value]);
    this.pendingSize += key.length + (value?.length ?? 0);
    this.pendingDelta += value === null ? -1 : 1;
  }

  deleteRange(bounds: KeyBounds): void {
    this.assertOpen();
    for (const [id, entry] of this.pending) {
      if (inBounds(entry[0], bounds)) {
        this.pending.delete(id);
        this.pendingSize -= entry[0].length + (entry[1]?.length ?? 0);
      }
    }
    this.pendingRanges.push(bounds);
  }

  async *range(bounds: KeyBounds): AsyncGenerator<BytesEntry> {
    this.assertOpen();
    const staged = sortPending([...this.pending.values()].filter((e) => inBounds(e[0], bounds)));
    const ranges = [...this.pendingRanges];
    const committed = this.committedRange(bounds);
    for await (const entry of mergeOverlay(committed, staged)) {
      if (
        ranges.length > 0 &&
        !this.pending.has(mapKey(entry[0])) &&
        ranges.some((b) => inBounds(entry[0], b))
      ) {
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
    try {
      for (const bounds of this.pendingRanges) await db.clear(this.dataBounds(bounds));
      this.pendingRanges = [];
      const batch = db.batch();
      for (const [key, value] of this.pending.values()) {
        if (value === null) batch.del(concatBytes(DATA_PREFIX, key));
        else batch.put(concatBytes(DATA_PREFIX, key), value);
      }
      batch.put(CHECKPOINT_KEY, encodeCheckpoint(checkpoint));
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
    this.pending.clear();
    this.pendingSize = 0;
    this.committedCount = Math.max(0, this.committedCount + this.pendingDelta);
    this.pendingDelta = 0;
  }

  async writeBatch(entries: readonly PendingEntry[], checkpoint: Checkpoint): Promise<void> {
    this.assertOpen();
    if (this.pending.size > 0 || this.pendingRanges.length > 0) {
      throw new StateStoreError('INVALID_STATE', `store "${this.name}" has uncommitted writes`, {
        store: this.name,
      });
    }
    const batch = this.db!.batch();
    let delta = 0;
    for (const [key, value] of entries) {
      if (value === null) {
        batch.del(concatBytes(DATA_PREFIX, key));
        delta--;
      } else {
        batch.put(concatBytes(DATA_PREFIX, key), value);
        delta++;
      }
    }
    batch.put(CHECKPOINT_KEY, encodeCheckpoint(checkpoint));
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
    this.pending.clear();
    this.pendingRanges = [];
    this.pendingSize = 0;
    this.pendingDelta = 0;
    this.committedCount = 0;
    await this.openDb();
    this.state = 'open';
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.pending.clear();
    await this.db?.close();
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
