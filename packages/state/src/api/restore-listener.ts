// Callbacks a runtime invokes while it rebuilds stores from their changelogs.

export interface RestorePosition {
  store: string;
  topic: string;
  partition: number;
}

export interface RestoreListener {
  onRestoreStart?(position: RestorePosition, startOffset: bigint, endOffset: bigint): void;
  onBatchRestored?(position: RestorePosition, lastOffset: bigint, records: number): void;
  onRestoreEnd?(position: RestorePosition, totalRestored: number): void;
}
