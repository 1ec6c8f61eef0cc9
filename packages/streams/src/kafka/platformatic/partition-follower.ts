// Follows partitions from given offsets on, without end and without a group: fetches straight from the leaders.

import {
  ChangelogTruncated,
  type FollowedBatch,
  type PartitionFollowerPort,
  type PartitionStart,
} from '../port.js';
import { PlatformaticKafkaError } from './errors.js';
import { type FetchSettings, fetchOnce, PASSING_FETCH_ERRORS } from './fetch-records.js';
import { loadLibrary, type Platformatic } from './library.js';

const SETTINGS: FetchSettings = {
  readCommitted: true,
  maxWaitMs: 250,
  maxBytes: 16 * 1024 * 1024,
  maxBytesPerPartition: 4 * 1024 * 1024,
};

export class PlatformaticPartitionFollower implements PartitionFollowerPort {
  private client: Platformatic.Base | undefined;
  private closed = false;
  private following: Promise<void> | undefined;

  constructor(private readonly options: Platformatic.BaseOptions) {}

  follow(starts: PartitionStart[], onBatch: (batch: FollowedBatch) => Promise<void>): Promise<void> {
    if (this.following !== undefined) throw new Error('a partition follower follows once');
    this.following = this.run(starts, onBatch);
    return this.following;
  }

  private async run(
    starts: PartitionStart[],
    onBatch: (batch: FollowedBatch) => Promise<void>,
  ): Promise<void> {
    const lib = await loadLibrary();
    if (this.closed) return;
    const client = new lib.Base(this.options);
    this.client = client;
    const position = new Map(starts.map((s) => [`${s.topic}:${s.partition}`, { ...s }]));
    while (!this.closed) {
      const fetched = await fetchOnce(lib, client, [...position.values()], SETTINGS).catch((err: unknown) => {
        if (this.closed) return [];
        throw err;
      });
      for (const f of fetched) {
        if (this.closed) return;
        const at = position.get(`${f.topic}:${f.partition}`);
        if (at === undefined) continue;
        if (f.error === 'OFFSET_OUT_OF_RANGE') throw new ChangelogTruncated(f.topic, f.partition);
        if (f.error !== undefined) {
          if (PASSING_FETCH_ERRORS.has(f.error)) continue;
          throw new PlatformaticKafkaError(Object.assign(new Error(f.error), { apiId: f.error }));
        }
        if (f.records.length > 0)
          await onBatch({ topic: f.topic, partition: f.partition, records: f.records });
        if (f.fetchedThrough !== undefined) at.offset = f.fetchedThrough + 1n;
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.following?.catch(() => undefined);
    await this.client?.close();
  }
}
