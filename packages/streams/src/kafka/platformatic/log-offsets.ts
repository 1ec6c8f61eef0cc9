// The log start or end offsets of chosen partitions, asked of their leaders (ListOffsets).

import { portError } from './errors.js';
import { type Library, type Platformatic, request } from './library.js';

interface ListOffsetsResponse {
  topics: { name: string; partitions: { partitionIndex: number; offset: bigint }[] }[];
}

/** `earliest`: the first offset still in the log; else the log end (the last stable offset under read_committed). */
export async function logOffsets(
  lib: Library,
  client: Platformatic.Base,
  partitions: { topic: string; partition: number }[],
  earliest: boolean,
  readCommitted: boolean,
): Promise<Map<string, bigint>> {
  const out = new Map<string, bigint>();
  if (partitions.length === 0) return out;
  try {
    const metadata = await client.metadata({ topics: [...new Set(partitions.map((p) => p.topic))] });
    const byLeader = new Map<number, Map<string, number[]>>();
    for (const { topic, partition } of partitions) {
      const leader = metadata.topics.get(topic)?.partitions[partition]?.leader ?? -1;
      if (leader < 0) throw new lib.ProtocolError('LEADER_NOT_AVAILABLE');
      const topics = byLeader.get(leader) ?? new Map<string, number[]>();
      byLeader.set(leader, topics);
      topics.set(topic, [...(topics.get(topic) ?? []), partition]);
    }
    const timestamp = earliest ? -2n : -1n;
    await Promise.all(
      [...byLeader].map(async ([leader, topics]) => {
        const response = await request<ListOffsetsResponse>(lib, client, 'ListOffsets', leader, [
          -1,
          readCommitted ? 1 : 0,
          [...topics].map(([name, ps]) => ({
            name,
            partitions: ps.map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp })),
          })),
        ]);
        for (const t of response.topics) {
          for (const p of t.partitions) out.set(`${t.name}:${p.partitionIndex}`, p.offset);
        }
      }),
    );
  } catch (err) {
    throw portError(err);
  }
  return out;
}
