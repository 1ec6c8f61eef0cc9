// Merges a sorted scan of committed entries with sorted pending writes (null = deleted) into one ordered scan.
import { compareBytes } from './bytes.js';

export type BytesEntry = readonly [key: Uint8Array, value: Uint8Array];
export type PendingEntry = readonly [key: Uint8Array, value: Uint8Array | null];

/** Yields the union of both inputs in key order; a pending entry replaces (or, if null, hides) a committed one. */
export async function* mergeOverlay(
  committed: AsyncIterable<BytesEntry>,
  pending: readonly PendingEntry[],
): AsyncGenerator<BytesEntry> {
  let i = 0;
  for await (const entry of committed) {
    while (i < pending.length && compareBytes(pending[i]![0], entry[0]) < 0) {
      const p = pending[i++]!;
      if (p[1] !== null) yield [p[0], p[1]];
    }
    if (i < pending.length && compareBytes(pending[i]![0], entry[0]) === 0) {
      const p = pending[i++]!;
      if (p[1] !== null) yield [p[0], p[1]];
      continue;
    }
    yield entry;
  }
  while (i < pending.length) {
    const p = pending[i++]!;
    if (p[1] !== null) yield [p[0], p[1]];
  }
}

export function sortPending(entries: PendingEntry[]): PendingEntry[] {
  return entries.sort((a, b) => compareBytes(a[0], b[0]));
}
