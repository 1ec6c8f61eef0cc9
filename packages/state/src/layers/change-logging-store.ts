// The change-logging layer: passes each put/delete down and keeps it as a changelog entry until the commit takes it.
import { type KeyBounds, toBuffer } from '../internal/bytes.js';
import type { BytesEntry } from '../internal/merge-overlay.js';
import type { BytesStore } from './bytes-store.js';

/** Logged writes in write order: `values[i]` (null: delete) was written to `keys[i]`. */
export interface LoggedWrites {
  keys: Buffer[];
  values: (Buffer | null)[];
}

/** About what a logged write holds beyond its key and value bytes: two Buffer objects and two array slots. */
const WRITE_OVERHEAD_BYTES = 96;

export class ChangeLoggingStore implements BytesStore {
  // Two arrays rather than an array of pairs: one object less per write, alive until the commit takes it.
  private keys: Buffer[] = [];
  private values: (Buffer | null)[] = [];
  private bytes = 0;

  constructor(private readonly inner: BytesStore) {}

  get name(): string {
    return this.inner.name;
  }

  get(key: Uint8Array): Uint8Array | undefined {
    return this.inner.get(key);
  }

  put(key: Uint8Array, value: Uint8Array | null): void {
    // Buffers once here: the changelog record and the engine's batch then share them.
    const keyBuffer = toBuffer(key);
    const valueBuffer = value === null ? null : toBuffer(value);
    this.inner.put(keyBuffer, valueBuffer);
    this.keys.push(keyBuffer);
    this.values.push(valueBuffer);
    this.bytes += keyBuffer.length + (valueBuffer?.length ?? 0) + WRITE_OVERHEAD_BYTES;
  }

  /**
   * About how much memory the writes logged since the last drain hold: every write is kept, so a key written often
   * between commits counts each time.
   */
  pendingBytes(): number {
    return this.bytes;
  }

  /** Not logged: range deletes serve retention, which the changelog topic enforces by itself. */
  deleteRange(bounds: KeyBounds): void {
    this.inner.deleteRange(bounds);
  }

  range(bounds: KeyBounds): AsyncIterable<BytesEntry> {
    return this.inner.range(bounds);
  }

  approximateNumEntries(): number {
    return this.inner.approximateNumEntries();
  }

  /** Returns the writes logged since the last call, in write order. */
  drain(): LoggedWrites {
    const out = { keys: this.keys, values: this.values };
    this.keys = [];
    this.values = [];
    this.bytes = 0;
    return out;
  }

  clear(): void {
    this.keys = [];
    this.values = [];
    this.bytes = 0;
  }
}
