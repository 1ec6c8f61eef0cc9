// Whether offset ranges hold any record a read_committed consumer would get, or only transaction markers and
// aborted records: how the CLI tells a partition that is behind from one whose log ends in a commit marker.

import { Kafka } from '#kafkajs';
import type { ChangelogRange, ClientOptions } from '../port.js';
import { kafkaConfigOf } from './client-config.js';
import { privateGroupConsumer, readUntil } from './private-group.js';

/** `topic:partition` of a range. */
export function rangeKey(r: { topic: string; partition: number }): string {
  return `${r.topic}:${r.partition}`;
}

/**
 * The keys (`topic:partition`) of the `ranges` that hold at least one committed data record in
 * [startOffset, endOffset). Reads with a consumer of the private group `groupId` in small fetches, and stops reading
 * a range at its first data record or once the fetched batches (markers included) reach its end. `endOffset` must
 * not lie past the last stable offset, or the read waits for the open transaction to end.
 */
export async function rangesWithData(
  options: ClientOptions,
  groupId: string,
  ranges: readonly ChangelogRange[],
): Promise<Set<string>> {
  const withData = new Set<string>();
  const pending = ranges.filter((r) => r.startOffset < r.endOffset);
  if (pending.length === 0) return withData;
  const config = kafkaConfigOf(options);
  const byKey = new Map(pending.map((r) => [rangeKey(r), r]));
  const undecided = new Set(byKey.keys());
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const decide = (key: string, hasData: boolean) => {
    if (!undecided.delete(key)) return;
    if (hasData) withData.add(key);
    if (undecided.size === 0) finish();
  };
  // One small batch per partition and fetch is enough to decide: the first record in range settles it.
  const consumer = privateGroupConsumer(new Kafka(config), groupId, pending, config.retry, {
    maxWaitTimeInMs: 100,
    maxBytesPerPartition: 64 * 1024,
  });
  // Emitted after every batch, also for those kafkajs keeps to itself because they hold only markers or aborted
  // records; their lastOffset counts those.
  consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
    const range = byKey.get(rangeKey(e.payload));
    if (range !== undefined && BigInt(e.payload.lastOffset) >= range.endOffset - 1n) {
      decide(rangeKey(range), false);
    }
  });
  await readUntil(
    consumer,
    pending.map((r) => ({ topic: r.topic, partition: r.partition, offset: r.startOffset })),
    async (batch) => {
      const range = byKey.get(rangeKey(batch));
      if (range === undefined) return false;
      const inRange = batch.messages.some((m) => {
        const offset = BigInt(m.offset);
        return offset >= range.startOffset && offset < range.endOffset;
      });
      if (inRange) decide(rangeKey(range), true);
      return true;
    },
    done,
  );
  return withData;
}
