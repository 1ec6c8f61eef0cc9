// What the CLI reads and writes of a consumer group: members, committed offsets, end offsets, and offset changes.
import type { Admin } from 'kafkajs';
import { CliError, invalidArgument } from './errors.js';

/** A group's committed offset of one partition. */
export interface PartitionOffset {
  topic: string;
  partition: number;
  offset: bigint;
}

/** The first offset and the end offset (next to be written) of a partition. */
export interface PartitionBounds {
  topic: string;
  partition: number;
  low: bigint;
  high: bigint;
}

/** The client ids and hosts of the group's members; empty for a group nobody is in. */
export async function groupMembers(admin: Admin, groupId: string): Promise<string[]> {
  const { groups } = await admin.describeGroups([groupId]);
  return (groups[0]?.members ?? []).map((m) => `${m.clientId}@${m.clientHost.replace(/^\//, '')}`);
}

/** GROUP_NOT_EMPTY unless nobody is in the group: offsets of a group with members must not be changed. */
export async function requireEmptyGroup(admin: Admin, groupId: string, action: string): Promise<void> {
  const members = await groupMembers(admin, groupId);
  if (members.length === 0) return;
  throw new CliError(
    'GROUP_NOT_EMPTY',
    `group "${groupId}" has ${members.length} member(s) (${members.slice(0, 5).join(', ')}): ` +
      `stop every instance before ${action}`,
  );
}

/** The group's committed offsets, sorted by topic and partition; of `topics` only when given. */
export async function committedOffsets(
  admin: Admin,
  groupId: string,
  topics?: string[],
): Promise<PartitionOffset[]> {
  const answer = await admin.fetchOffsets(topics === undefined ? { groupId } : { groupId, topics });
  const out: PartitionOffset[] = [];
  for (const { topic, partitions } of answer) {
    for (const { partition, offset } of partitions) {
      if (BigInt(offset) >= 0n) out.push({ topic, partition, offset: BigInt(offset) });
    }
  }
  return out.sort(byPartition);
}

export function byPartition(
  a: { topic: string; partition: number },
  b: { topic: string; partition: number },
): number {
  return a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition;
}

/** TOPIC_NOT_FOUND unless every topic exists. */
export async function requireTopics(admin: Admin, topics: string[]): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t));
  if (missing.length > 0) throw new CliError('TOPIC_NOT_FOUND', `no such topic: ${missing.join(', ')}`);
}

/** The bounds of every partition of `topics`, sorted. */
export async function partitionBounds(admin: Admin, topics: string[]): Promise<PartitionBounds[]> {
  const out: PartitionBounds[] = [];
  for (const topic of topics) {
    for (const o of await admin.fetchTopicOffsets(topic)) {
      out.push({ topic, partition: o.partition, low: BigInt(o.low), high: BigInt(o.high) });
    }
  }
  return out.sort(byPartition);
}

/** Commits `offsets` for the group, which must have no members (the broker refuses otherwise). */
export async function setOffsets(admin: Admin, groupId: string, offsets: PartitionOffset[]): Promise<void> {
  const byTopic = new Map<string, { partition: number; offset: string }[]>();
  for (const o of offsets) {
    const list = byTopic.get(o.topic) ?? [];
    list.push({ partition: o.partition, offset: o.offset.toString() });
    byTopic.set(o.topic, list);
  }
  for (const [topic, partitions] of byTopic) {
    try {
      await admin.setOffsets({ groupId, topic, partitions });
    } catch (err) {
      // A member that joined after the check: the coordinator refuses a commit from outside the generation.
      const type = (err as { type?: string }).type ?? '';
      if (
        /UNKNOWN_MEMBER_ID|ILLEGAL_GENERATION|REBALANCE_IN_PROGRESS/.test(type) ||
        /running instances/.test(String(err))
      ) {
        throw new CliError(
          'GROUP_NOT_EMPTY',
          `group "${groupId}" gained members while its offsets were set`,
          {
            cause: err,
          },
        );
      }
      throw err;
    }
  }
}

/** TOPIC_NOT_FOUND unless every topic of `offsets` exists; INVALID_ARGUMENT unless every partition does. */
export async function requirePartitions(admin: Admin, offsets: PartitionOffset[]): Promise<void> {
  const topics = [...new Set(offsets.map((o) => o.topic))];
  await requireTopics(admin, topics);
  const known = new Set((await partitionBounds(admin, topics)).map((b) => `${b.topic}:${b.partition}`));
  const missing = offsets.filter((o) => !known.has(`${o.topic}:${o.partition}`));
  if (missing.length > 0) {
    throw invalidArgument(`no such partition: ${missing.map((o) => `${o.topic}-${o.partition}`).join(', ')}`);
  }
}
