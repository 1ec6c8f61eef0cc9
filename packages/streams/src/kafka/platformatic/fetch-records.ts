// One Fetch round for chosen partitions at chosen offsets, without a group: requests grouped by leader, records
// decoded, transaction markers and (under read_committed) aborted transactions dropped.

import type { ConsumedRecord } from '../port.js';
import { portError } from './errors.js';
import { type Library, type Platformatic, request } from './library.js';
import { consumedRecords } from './records.js';

const IS_TRANSACTIONAL = 1 << 4;
const IS_CONTROL = 1 << 5;
/** The control record type of an abort marker (its key: int16 version, int16 type). */
const ABORT_MARKER = 0;
/** Protocol error names after which the partition's leader must be looked up again. */
const STALE_LEADER = new Set([
  'NOT_LEADER_OR_FOLLOWER',
  'LEADER_NOT_AVAILABLE',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'FENCED_LEADER_EPOCH',
  'UNKNOWN_LEADER_EPOCH',
  'UNKNOWN_TOPIC_ID',
  'KAFKA_STORAGE_ERROR',
]);

export interface FetchPosition {
  topic: string;
  partition: number;
  offset: bigint;
}

export interface FetchSettings {
  readCommitted: boolean;
  maxWaitMs: number;
  maxBytes: number;
  maxBytesPerPartition: number;
}

/** What one fetch returned for one partition. */
export interface PartitionFetch {
  topic: string;
  partition: number;
  /** From the fetch position on; transaction markers and aborted records left out. */
  records: ConsumedRecord[];
  highWatermark: bigint;
  lastStableOffset: bigint;
  /** The last offset the fetch returned at or after the position, records, markers and aborted records alike. */
  fetchedThrough?: bigint;
  /** The partition's protocol error, e.g. OFFSET_OUT_OF_RANGE. */
  error?: string;
}

interface RawPartition {
  partitionIndex: number;
  errorCode: number;
  highWatermark: bigint;
  lastStableOffset: bigint;
  abortedTransactions: { producerId: bigint; firstOffset: bigint }[];
  records?: Platformatic.RecordsBatch[];
}
interface RawResponse {
  responses: { topicId: string; partitions: RawPartition[] }[];
}

/** Fetches every position once (the leaders concurrently); a partition whose leader moved comes back with `error`. */
export async function fetchOnce(
  lib: Library,
  client: Platformatic.Base,
  positions: FetchPosition[],
  settings: FetchSettings,
): Promise<PartitionFetch[]> {
  if (positions.length === 0) return [];
  const topics = [...new Set(positions.map((p) => p.topic))];
  const metadata = await client.metadata({ topics }).catch((err) => {
    throw portError(err);
  });
  const names = new Map<string, string>();
  const byLeader = new Map<number, Map<string, FetchPosition[]>>();
  const out: PartitionFetch[] = [];
  const at = new Map<string, bigint>();
  for (const p of positions) {
    const topic = metadata.topics.get(p.topic);
    const leader = topic?.partitions[p.partition]?.leader;
    if (topic === undefined || leader === undefined || leader < 0) {
      out.push({
        ...p,
        records: [],
        highWatermark: -1n,
        lastStableOffset: -1n,
        error: 'LEADER_NOT_AVAILABLE',
      });
      continue;
    }
    names.set(topic.id, p.topic);
    at.set(`${p.topic}:${p.partition}`, p.offset);
    const ofLeader = byLeader.get(leader) ?? new Map<string, FetchPosition[]>();
    byLeader.set(leader, ofLeader);
    ofLeader.set(topic.id, [...(ofLeader.get(topic.id) ?? []), p]);
  }
  const isolation = settings.readCommitted ? 1 : 0;
  const responses = await Promise.all(
    [...byLeader].map(([leader, ofLeader]) => {
      const requestTopics = [...ofLeader].map(([topicId, ps]) => ({
        topicId,
        partitions: ps.map((p) => ({
          partition: p.partition,
          currentLeaderEpoch: -1,
          fetchOffset: p.offset,
          lastFetchedEpoch: -1,
          partitionMaxBytes: settings.maxBytesPerPartition,
        })),
      }));
      // Session id 0 and epoch -1: a full fetch that opens no fetch session on the broker.
      const args = [settings.maxWaitMs, 1, settings.maxBytes, isolation, 0, -1, requestTopics, [], ''];
      return request<RawResponse>(lib, client, 'Fetch', leader, args).catch((err: unknown) => {
        // Partition errors fail the request as a whole; the answer for the other partitions is still there.
        const response = (err as { response?: RawResponse }).response;
        if (response?.responses !== undefined) return response;
        throw portError(err);
      });
    }),
  );
  let stale = false;
  for (const response of responses) {
    for (const { topicId, partitions } of response.responses) {
      const topic = names.get(topicId);
      if (topic === undefined) continue;
      for (const raw of partitions) {
        const offset = at.get(`${topic}:${raw.partitionIndex}`) ?? 0n;
        const fetched = decodePartition(lib, topic, raw, offset, settings.readCommitted);
        if (fetched.error !== undefined && STALE_LEADER.has(fetched.error)) stale = true;
        out.push(fetched);
      }
    }
  }
  if (stale) await client.metadata({ topics, forceUpdate: true }).catch(() => undefined);
  return out;
}

function decodePartition(
  lib: Library,
  topic: string,
  raw: RawPartition,
  from: bigint,
  readCommitted: boolean,
): PartitionFetch {
  const out: PartitionFetch = {
    topic,
    partition: raw.partitionIndex,
    records: [],
    highWatermark: raw.highWatermark,
    lastStableOffset: raw.lastStableOffset,
  };
  if (raw.errorCode !== 0) {
    out.error = errorName(lib, raw.errorCode);
    return out;
  }
  // The broker lists aborted transactions as its index holds them (in the order they ended); entering them needs
  // the order they began.
  const aborted = readCommitted
    ? [...raw.abortedTransactions].sort((a, b) => cmp(a.firstOffset, b.firstOffset))
    : [];
  const abortedProducers = new Set<bigint>();
  let next = 0;
  for (const batch of raw.records ?? []) {
    const last = batch.firstOffset + BigInt(batch.lastOffsetDelta);
    if (last < from) continue; // a batch the broker returned whole, entirely before the position
    out.fetchedThrough = last;
    while (next < aborted.length && aborted[next]!.firstOffset <= last) {
      abortedProducers.add(aborted[next]!.producerId);
      next++;
    }
    if ((batch.attributes & IS_CONTROL) !== 0) {
      const key = batch.records[0]?.key;
      if (key && key.length >= 4 && key.readInt16BE(2) === ABORT_MARKER)
        abortedProducers.delete(batch.producerId);
      continue;
    }
    if ((batch.attributes & IS_TRANSACTIONAL) !== 0 && abortedProducers.has(batch.producerId)) continue;
    for (const record of consumedRecords(batch)) {
      if (BigInt(record.offset) >= from) out.records.push(record);
    }
  }
  return out;
}

function errorName(lib: Library, code: number): string {
  try {
    return String(new lib.ProtocolError(code).apiId);
  } catch {
    return `ERROR_${code}`;
  }
}

function cmp(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Fetch errors after which the next round may succeed: the leader moved or is not known yet. */
export const PASSING_FETCH_ERRORS: ReadonlySet<string> = new Set([
  'NOT_LEADER_OR_FOLLOWER',
  'LEADER_NOT_AVAILABLE',
  'FENCED_LEADER_EPOCH',
  'UNKNOWN_LEADER_EPOCH',
  'UNKNOWN_TOPIC_ID',
  'KAFKA_STORAGE_ERROR',
  'REPLICA_NOT_AVAILABLE',
]);
