// The bytes-level contract shared by the caching and change-logging layers and the engines they wrap.
import type { KeyBounds } from '../internal/bytes.js';
import type { BytesEntry } from '../internal/merge-overlay.js';

export interface BytesStore {
  readonly name: string;
  get(key: Uint8Array): Uint8Array | undefined;
  /** `null` deletes. Layers keep the passed arrays; callers must not mutate them afterwards. */
  put(key: Uint8Array, value: Uint8Array | null): void;
  deleteRange(bounds: KeyBounds): void;
  range(bounds: KeyBounds): AsyncIterable<BytesEntry>;
  approximateNumEntries(): number;
}
