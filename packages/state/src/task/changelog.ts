// The records and partitions the runtime exchanges with a task state manager for changelogs and restore.

/** A changelog record to send; `value: null` is a tombstone. */
export interface ChangelogRecord {
  store: string;
  topic: string;
  partition: number;
  key: Buffer;
  value: Buffer | null;
  /** `eddy.src`: the encoded source marks the store's state covers at this flush. */
  headers: Record<string, Buffer>;
}

/** A changelog partition to restore from, with the offset of the last record the local state holds. */
export interface ChangelogPartition {
  store: string;
  topic: string;
  partition: number;
  /** undefined: no checkpoint, rebuild from the start of the partition. */
  checkpointOffset: bigint | undefined;
  /**
   * Wall-clock ms at which the local state covered the changelog (every later record was written after it);
   * undefined when unknown (no checkpoint, or one written before this was kept).
   */
  coveredAt?: number | undefined;
  /**
   * True when `topic` is the input topic the store copies (`StoreOptions.sourceTopic`), not a changelog: restore
   * reads it only up to the task's committed input position, since the task processes the records after that.
   */
  fromSource?: boolean;
}

/** A changelog record read back for restore. */
export interface RestoreRecord {
  offset: bigint | string;
  key: Uint8Array;
  value: Uint8Array | null;
  headers?: Record<string, Uint8Array | string | undefined>;
  /** The record's timestamp: the wall-clock time it was written (changelog records carry no other time). */
  timestamp?: number;
}

export function changelogTopic(applicationId: string, store: string): string {
  return `${applicationId}-${store}-changelog`;
}
