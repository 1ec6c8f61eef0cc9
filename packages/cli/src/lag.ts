// The consumer lag of a group per partition: end offset minus committed offset, from admin reads.
import type { Admin } from 'kafkajs';
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

/**
 * Lag of each partition in `bounds`: records from the committed offset (or the log start, when nothing was
 * committed or the committed records were deleted) to the end.
 */
export function lagOf(committed: PartitionOffset[], bounds: PartitionBounds[]): GroupLag {
  const at = new Map(committed.map((c) => [`${c.topic}:${c.partition}`, c.offset]));
  let total = 0n;
  const partitions = bounds.map((b): PartitionLag => {
    const offset = at.get(`${b.topic}:${b.partition}`);
    const from = offset === undefined || offset < b.low ? b.low : offset;
    const lag = b.high > from ? b.high - from : 0n;
    total += lag;
    return { topic: b.topic, partition: b.partition, committed: offset, end: b.high, lag };
  });
  return { partitions: partitions.sort(byPartition), total };
}

/**
 * The group's lag on every topic it has committed offsets for, and on `topics` (partitions without a commit count
 * from the log start). GROUP_NOT_FOUND when that makes no partition at all.
 */
export async function groupLag(admin: Admin, groupId: string, topics: string[] = []): Promise<GroupLag> {
  const committed = await committedOffsets(admin, groupId);
  const all = [...new Set([...committed.map((c) => c.topic), ...topics])];
  const existing = new Set(await admin.listTopics());
  const lag = lagOf(
    committed,
    await partitionBounds(
      admin,
      all.filter((t) => existing.has(t)),
    ),
  );
  if (lag.partitions.length === 0) {
    throw new CliError(
      'GROUP_NOT_FOUND',
      `group "${groupId}" has no committed offsets: check --application-id, or name its --input-topics`,
    );
  }
  return lag;
}
