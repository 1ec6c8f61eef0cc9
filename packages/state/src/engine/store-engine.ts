// The contract every engine (in-memory, LevelDB) fulfils for the layers above it: bytes in, bytes out.
import type { KeyBounds } from '../internal/bytes.js';
import type { BytesEntry, PendingEntry } from '../internal/merge-overlay.js';
import type { Checkpoint } from './checkpoint.js';

export interface StoreEngine {
  readonly name: string;
  /** True when data and checkpoint survive a restart of the process. */
  readonly persistent: boolean;
  /** Opens the engine and returns the checkpoint stored with the data, if any. */
  open(): Promise<Checkpoint | undefined>;
  get(key: Uint8Array): Uint8Array | undefined;
  /** Stages a write (`null` deletes); durable after the next `commit`. */
  put(key: Uint8Array, value: Uint8Array | null): void;
  /** Stages the deletion of every key in `bounds` (applied with a range delete at commit). */
  deleteRange(bounds: KeyBounds): void;
  range(bounds: KeyBounds): AsyncIterable<BytesEntry>;
  approximateNumEntries(): number;
  /** Bytes of staged writes not yet committed. */
  pendingBytes(): number;
  /** Writes the staged writes and the checkpoint in one atomic batch. */
  commit(checkpoint: Checkpoint): Promise<void>;
  /** Writes `entries` and the checkpoint in one atomic batch, bypassing staging (restore). */
  writeBatch(entries: readonly PendingEntry[], checkpoint: Checkpoint): Promise<void>;
  /** Deletes all data and the checkpoint, leaving an empty open engine. */
  wipe(): Promise<void>;
  close(): Promise<void>;
}

export type EngineState = 'created' | 'open' | 'closed';
