// The change-logging layer: passes each put/delete down and keeps each written key's latest value as a changelog entry
// until the commit takes it.
import { type KeyBounds, mapKey, toBuffer } from '../internal/bytes.js';
import type { BytesEntry } from '../internal/merge-overlay.js';
import type { BytesStore } from './bytes-store.js';

/** Logged writes, one per key in the order of each key's first write: `values[i]` (null: delete) is the latest. */
export interface LoggedWrites {
  keys: Buffer[];
  values: (Buffer | null)[];
}

/** About what a logged write holds beyond its key and value bytes: two Buffer objects, two array slots, a map entry. */
const WRITE_OVERHEAD_BYTES = 160;

/**
 * The changelog is written once per commit, in one transaction per task whose records share one source mark, so a
 * key's earlier writes since the last commit are never a state anyone restores to: only its latest value is kept.
 * This bounds the buffer by the keys written rather than by the input, and sends one record per key and commit.
 */
export class ChangeLoggingStore implements BytesStore {
  // Two arrays rather than an array of pairs: one object less per write, alive until the commit takes it.
  private keys: Buffer[] = [];
  private values: (Buffer | null)[] = [];
  /** Map key → position of the key's entry in `keys` and `values`. */
  private index = new Map<string, number>();
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
    const id = mapKey(keyBuffer);
    const at = this.index.get(id);
    if (at !== undefined) {
      this.bytes += (valueBuffer?.length ?? 0) - (this.values[at]?.length ?? 0);
      this.values[at] = valueBuffer;
      return;
    }
    this.index.set(id, this.keys.length);
    this.keys.push(keyBuffer);
    this.values.push(valueBuffer);
    this.bytes += keyBuffer.length + (valueBuffer?.length ?? 0) + WRITE_OVERHEAD_BYTES;
  }

  /** About how much memory the writes logged since the last drain hold: one entry per key written. */
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

  /** Returns each key written since the last call with its latest value, in the order of the keys' first writes. */
  drain(): LoggedWrites {
    const out = { keys: this.keys, values: this.values };
    this.clear();
    return out;
  }

  clear(): void {
    this.keys = [];
    this.values = [];
    this.index = new Map();
    this.bytes = 0;
  }
}
