// How large a record the app writes is (what `maxRecordBytes` bounds), and RECORD_TOO_LARGE for records past it.
import type { ChangelogRecord } from '@eddy/state';
import { StreamsError } from '../errors.js';

interface SizedRecord {
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers?: Readonly<Record<string, Uint8Array | undefined>> | undefined;
}

/** Key, value, header names (UTF-8) and header values, in bytes. */
export function recordBytes(r: SizedRecord): number {
  let n = (r.key?.byteLength ?? 0) + (r.value?.byteLength ?? 0);
  if (r.headers) {
    for (const name in r.headers) n += Buffer.byteLength(name) + (r.headers[name]?.byteLength ?? 0);
  }
  return n;
}

/** RECORD_TOO_LARGE for the first of a task's changelog records larger than `maxBytes`, naming its store and topic. */
export function checkChangelogSizes(
  records: readonly ChangelogRecord[],
  task: string,
  maxBytes: number,
): void {
  for (const r of records) {
    const bytes = recordBytes(r);
    if (bytes > maxBytes) {
      throw new StreamsError(
        'RECORD_TOO_LARGE',
        `a changelog record of store "${r.store}" of task ${task} (${r.topic}-${r.partition}) has ${bytes} bytes, ` +
          `more than maxRecordBytes ${maxBytes}: nothing of the commit was written`,
      );
    }
  }
}

const BROKER_TOO_LARGE = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);

/** True when the broker refused a send as larger than the topic's `max.message.bytes` (however the client wraps it). */
export function refusedAsTooLarge(err: unknown): boolean {
  let e = err as { type?: unknown; cause?: unknown; originalError?: unknown } | undefined;
  for (let depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    if (typeof e.type === 'string' && BROKER_TOO_LARGE.has(e.type)) return true;
    e = (e.cause ?? e.originalError) as typeof e;
  }
  return false;
}
