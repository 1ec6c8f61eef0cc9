// The change-logging layer: passes each put/delete down and keeps it as a changelog entry until the commit takes it.
import type { KeyBounds } from '../internal/bytes.js';
import type { BytesEntry, PendingEntry } from '../internal/merge-overlay.js';
import type { BytesStore } from './bytes-store.js';

export class ChangeLoggingStore implements BytesStore {
  private entries: PendingEntry[] = [];

  constructor(private readonly inner: BytesStore) {}

  get name(): string {
    return this.inner.name;
  }

  get(key: Uint8Array): Uint8Array | undefined {
    return this.inner.get(key);
  }

  put(key: Uint8Array, value: Uint8Array | null): void {
    this.inner.put(key, value);
    this.entries.push([key, value]);
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

  /** Returns the entries logged since the last call, in write order. */
  drain(): PendingEntry[] {
    const out = this.entries;
    this.entries = [];
    return out;
  }

  clear(): void {
    this.entries = [];
  }
}
