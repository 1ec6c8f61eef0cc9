// Reads changelog ranges by fetching the partitions directly from their leaders: no group is needed.

import {
  type ChangelogRange,
  type ChangelogReaderPort,
  ChangelogTruncated,
  type ConsumedRecord,
} from '../port.js';
import { PlatformaticKafkaError } from './errors.js';
import { type FetchSettings, fetchOnce, PASSING_FETCH_ERRORS } from './fetch-records.js';
import { type Library, loadLibrary, type Platformatic } from './library.js';

const SETTINGS: FetchSettings = {
  readCommitted: true,
  maxWaitMs: 100,
  maxBytes: 64 * 1024 * 1024,
  maxBytesPerPartition: 16 * 1024 * 1024,
};

export class PlatformaticChangelogReader implements ChangelogReaderPort {
  private client: Platformatic.Base | undefined;
  private closed = false;
  /** Reads run one at a time. */
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly options: Platformatic.BaseOptions) {}

  read(
    ranges: ChangelogRange[],
    onBatch: (range: ChangelogRange, records: ConsumedRecord[]) => Promise<void>,
  ): Promise<void> {
    const run = this.queue.then(() => this.readNow(ranges, onBatch));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async readNow(
    ranges: ChangelogRange[],
    onBatch: (range: ChangelogRange, records: ConsumedRecord[]) => Promise<void>,
  ): Promise<void> {
    const lib = await loadLibrary();
    const client = this.base(lib);
    const position = new Map<string, bigint>();
    const byKey = new Map<string, ChangelogRange>();
    for (const r of ranges) {
      if (r.startOffset >= r.endOffset) continue;
      const key = `${r.topic}:${r.partition}`;
      byKey.set(key, r);
      position.set(key, r.startOffset);
    }
    while (position.size > 0) {
      if (this.closed) throw new Error('the changelog reader is closed');
      const positions = [...position].map(([key, offset]) => ({ ...byKey.get(key)!, offset }));
      for (const fetched of await fetchOnce(lib, client, positions, SETTINGS)) {
        const key = `${fetched.topic}:${fetched.partition}`;
        const range = byKey.get(key);
        const at = position.get(key);
        if (range === undefined || at === undefined) continue;
        if (fetched.error === 'OFFSET_OUT_OF_RANGE')
          throw new ChangelogTruncated(range.topic, range.partition);
        if (fetched.error !== undefined) {
          if (PASSING_FETCH_ERRORS.has(fetched.error)) continue;
          throw new PlatformaticKafkaError(Object.assign(new Error(fetched.error), { apiId: fetched.error }));
        }
        const records = fetched.records.filter((r) => BigInt(r.offset) < range.endOffset);
        if (records.length > 0) await onBatch(range, records);
        const next = fetched.fetchedThrough === undefined ? at : fetched.fetchedThrough + 1n;
        if (next >= range.endOffset) position.delete(key);
        else position.set(key, next);
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    await this.client?.close();
  }

  private base(lib: Library): Platformatic.Base {
    this.client ??= new lib.Base(this.options);
    return this.client;
  }
}
