// The consumer lag of a group per partition: end offset minus committed offset, from admin reads, where the offsets
// between hold anything but transaction markers.
import { randomUUID } from 'node:crypto';
import { rangesWithData } from '@eddy/streams/internals';
import type { Admin } from 'kafkajs';
import { type ConnectionFlags, clientOptionsOf } from './connection.js';
import { CliError } from './errors.js';
import {
  byPartition,
  committedOffsets,
  type PartitionBounds,
  type PartitionOffset,
  partitionBounds,
} from './group.js';

export interface PartitionLag {
  topic: string;
  partition: number;
  /** Undefined: the group has committed nothing for the partition yet. */
  committed: bigint | undefined;
  end: bigint;
  lag: bigint;
}

export interface GroupLag {
  partitions: PartitionLag[];
  total: bigint;
}

/** The `topic:partition` keys of the ranges (from offset, to the end) that hold a record a consumer would get. */
export type DataProbe = (
  ranges: { topic: string; partition: number; startOffset: bigint; endOffset: bigint }[],
) => Promise<Set<string>>;

/**
 * Reads the ranges with a consumer of a private group named after the application (so the ACLs of its prefix
 * cover it), which ends once each range has shown a data record or its end.
 */
export function dataProbe(flags: ConnectionFlags, groupId: string): DataProbe {
  return (ranges) =>
    rangesWithData(clientOptionsOf(flags), `${groupId}.eddy-cli-lag.${randomUUID()}`, ranges);
}

/**
 * `probe` for repeated checks: reads only the gaps whose start (the committed offset) stood still since the previous
 * check, and takes every other gap as data, since the group is still moving through it.
 */
export function settledProbe(probe: DataProbe): DataProbe {
  let previous = new Map<string, bigint>();
  return async (ranges) => {
    const key = (r: { topic: string; partition: number }) => `${r.topic}:${r.partition}`;
    const before = previous;
    previous = new Map(ranges.map((r) => [key(r), r.startOffset]));
    const settled = ranges.filter((r) => before.get(key(r)) === r.startOffset);
    const withData = await probe(settled);
    for (const r of ranges) if (before.get(key(r)) !== r.startOffset) withData.add(key(r));
    return withData;
  };
}

/**
 * Lag of each partition in `bounds`: records from the committed offset (or the log start, when nothing was
 * committed or the committed records were deleted) to the end. With `withData`, the `topic:partition` keys of the
 * lagging partitions whose gap holds a data record: every other gap is only transaction markers (or aborted
 * records), which no consumer gets, and counts as no lag.
 */
export function lagOf(
  committed: PartitionOffset[],
  bounds: PartitionBounds[],
  withData?: ReadonlySet<string>,
): GroupLag {
  const at = new Map(committed.map((c) => [`${c.topic}:${c.partition}`, c.offset]));
  let total = 0n;
  const partitions = bounds.map((b): PartitionLag => {
    const offset = at.get(`${b.topic}:${b.partition}`);
    const from = offset === undefined || offset < b.low ? b.low : offset;
    const gap = b.high > from ? b.high - from : 0n;
    const lag = withData === undefined || withData.has(`${b.topic}:${b.partition}`) ? gap : 0n;
    total += lag;
    return { topic: b.topic, partition: b.partition, committed: offset, end: b.high, lag };
  });
  return { partitions: partitions.sort(byPartition), total };
}

/**
 * The group's lag on every topic it has committed offsets for, and on `topics` (partitions without a commit count
 * from the log start). GROUP_NOT_FOUND when that makes no partition at all.
 *
 * A transaction's commit marker takes the offset after its last record. A group that commits one past the last
 * record it read (not past the markers, as Eddy and Kafka Streams do) stays behind the end offset (the last stable
 * offset, as the admin client reads it) when caught up. `probe` reads the lagging partitions' gaps; a gap without a data record counts as no lag.
 */
export async function groupLag(
  admin: Admin,
  groupId: string,
  topics: string[],
  probe: DataProbe,
): Promise<GroupLag> {
  const committed = await committedOffsets(admin, groupId);
  const all = [...new Set([...committed.map((c) => c.topic), ...topics])];
  const existing = new Set(await admin.listTopics());
  const bounds = await partitionBounds(
    admin,
    all.filter((t) => existing.has(t)),
  );
  const gaps = lagOf(committed, bounds).partitions.filter((p) => p.lag > 0n);
  const withData = await probe(gaps.map((p) => ({ ...p, startOffset: p.end - p.lag, endOffset: p.end })));
  const lag = lagOf(committed, bounds, withData);
  if (lag.partitions.length === 0) {
    throw new CliError(
      'GROUP_NOT_FOUND',
      `group "${groupId}" has no committed offsets: check --application-id, or name its --input-topics`,
    );
  }
  return lag;
}
