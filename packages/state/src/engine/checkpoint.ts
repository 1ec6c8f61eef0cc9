// The checkpoint a store writes with its data: its changelog offset and its source marks; JSON-encoded.
import { StateStoreError } from '../errors.js';
import type { SourceMark } from '../task/source-marks.js';

export interface Checkpoint {
  /** Offset of the last changelog record the data covers; undefined when nothing was logged yet (or logging is off). */
  changelogOffset: bigint | undefined;
  marks: SourceMark[];
}

export function encodeCheckpoint(checkpoint: Checkpoint): Buffer {
  return Buffer.from(
    JSON.stringify({
      v: 1,
      changelogOffset: checkpoint.changelogOffset?.toString() ?? null,
      marks: checkpoint.marks.map((m) => [m.topic, m.partition, m.offset]),
    }),
  );
}

export function decodeCheckpoint(bytes: Uint8Array, store: string): Checkpoint {
  try {
    const raw = JSON.parse(Buffer.from(bytes).toString('utf8')) as {
      v: number;
      changelogOffset: string | null;
      marks: [string, number, number][];
    };
    if (raw.v !== 1 || !Array.isArray(raw.marks)) throw new Error(`unknown checkpoint format ${raw.v}`);
    return {
      changelogOffset: raw.changelogOffset === null ? undefined : BigInt(raw.changelogOffset),
      marks: raw.marks.map(([topic, partition, offset]) => ({ topic, partition, offset })),
    };
  } catch (cause) {
    throw new StateStoreError('STORE_CORRUPTED', `checkpoint of store "${store}" cannot be decoded`, {
      cause,
      store,
    });
  }
}
