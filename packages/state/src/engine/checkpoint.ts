// The checkpoint a store writes with its data: changelog offset, source marks, stream time, age; JSON-encoded.
import { StateStoreError } from '../errors.js';
import type { SourceMark } from '../task/source-marks.js';

export interface Checkpoint {
  /** Offset of the last changelog record the data covers; undefined when nothing was logged yet (or logging is off). */
  changelogOffset: bigint | undefined;
  marks: SourceMark[];
  /** Time-bounded stores: the highest time written (their stream time, which decides what has expired). */
  streamTime?: number | undefined;
  /**
   * Wall-clock milliseconds at which the data covered its changelog: every changelog record after
   * `changelogOffset` was written at or after this time. Restore compares it with the topic's
   * `delete.retention.ms`. Absent in checkpoints written before it was kept.
   */
  coveredAt?: number | undefined;
}

// Version 1 throughout: the later fields are optional, so older readers skip them and this reader accepts their files.
export function encodeCheckpoint(checkpoint: Checkpoint): Buffer {
  const raw: Record<string, unknown> = {
    v: 1,
    changelogOffset: checkpoint.changelogOffset?.toString() ?? null,
    marks: checkpoint.marks.map((m) => [m.topic, m.partition, m.offset]),
  };
  if (checkpoint.streamTime !== undefined) raw.streamTime = checkpoint.streamTime;
  if (checkpoint.coveredAt !== undefined) raw.coveredAt = checkpoint.coveredAt;
  return Buffer.from(JSON.stringify(raw));
}

export function decodeCheckpoint(bytes: Uint8Array, store: string): Checkpoint {
  try {
    const raw = JSON.parse(Buffer.from(bytes).toString('utf8')) as {
      v: number;
      changelogOffset: string | null;
      marks: [string, number, number][];
      streamTime?: unknown;
      coveredAt?: unknown;
    };
    if (raw.v !== 1 || !Array.isArray(raw.marks)) throw new Error(`unknown checkpoint format ${raw.v}`);
    const checkpoint: Checkpoint = {
      changelogOffset: raw.changelogOffset === null ? undefined : BigInt(raw.changelogOffset),
      marks: raw.marks.map(([topic, partition, offset]) => ({ topic, partition, offset })),
    };
    if (raw.streamTime !== undefined) checkpoint.streamTime = safeInteger(raw.streamTime, 'streamTime');
    if (raw.coveredAt !== undefined) checkpoint.coveredAt = safeInteger(raw.coveredAt, 'coveredAt');
    return checkpoint;
  } catch (cause) {
    throw new StateStoreError('STORE_CORRUPTED', `checkpoint of store "${store}" cannot be decoded`, {
      cause,
      store,
    });
  }
}

function safeInteger(value: unknown, field: string): number {
  if (!Number.isSafeInteger(value)) throw new Error(`checkpoint field ${field} is not an integer: ${value}`);
  return value as number;
}
