// Records between the port's shape and the library's: placed on partitions before sending, decoded after fetching.

import { partitionForKey } from '@eddy/assignor';
import type { ConsumedRecord, OutgoingRecord, RecordHeaders } from '../port.js';
import type { Platformatic } from './library.js';

type Message = Platformatic.MessageToProduce<Buffer | null, Buffer | null, Buffer, Buffer>;

/** Records placed on their partitions, ready to send, with how many go to each `topic:partition`. */
export interface PlacedRecords {
  messages: Message[];
  counts: Map<string, number>;
}

/**
 * Places every record on a partition as the Java client does: the explicit one, murmur2 of the key (positive
 * part; the library's own default partitioner takes the unsigned hash, which differs for half the keys), or round
 * robin per topic for records without a key.
 */
export class RecordPlacer {
  private readonly roundRobin = new Map<string, number>();

  place(records: OutgoingRecord[], partitionCount: (topic: string) => number): PlacedRecords {
    const counts = new Map<string, number>();
    const messages = records.map((r): Message => {
      const partition = r.partition ?? this.partitionOf(r.topic, r.key, partitionCount(r.topic));
      const tp = `${r.topic}:${partition}`;
      counts.set(tp, (counts.get(tp) ?? 0) + 1);
      const headers = new Map<Buffer, Buffer>();
      for (const [name, value] of Object.entries(r.headers ?? {})) headers.set(Buffer.from(name), value);
      return {
        topic: r.topic,
        partition,
        key: r.key,
        value: r.value,
        headers,
        ...(r.timestamp === undefined ? {} : { timestamp: BigInt(r.timestamp) }),
      };
    });
    return { messages, counts };
  }

  private partitionOf(topic: string, key: Buffer | null, partitions: number): number {
    if (partitions <= 0) return 0;
    if (key !== null) return partitionForKey(key, partitions);
    const n = this.roundRobin.get(topic) ?? 0;
    this.roundRobin.set(topic, n + 1);
    return n % partitions;
  }
}

/** The last offset written to each `topic:partition`, from the base offsets a send reported. */
export function lastOffsets(
  result: Platformatic.ProduceResult,
  counts: Map<string, number>,
): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const { topic, partition, offset } of result.offsets ?? []) {
    const tp = `${topic}:${partition}`;
    out.set(tp, offset + BigInt((counts.get(tp) ?? 1) - 1));
  }
  return out;
}

/** The records of a fetched record batch as the port's records. */
export function consumedRecords(batch: Platformatic.RecordsBatch): ConsumedRecord[] {
  const out: ConsumedRecord[] = [];
  for (const r of batch.records) {
    const headers: RecordHeaders = {};
    for (const [name, value] of r.headers) {
      if (name !== null) headers[name.toString()] = value ?? Buffer.alloc(0);
    }
    out.push({
      offset: (batch.firstOffset + BigInt(r.offsetDelta)).toString(),
      key: r.key,
      value: r.value,
      timestamp: Number(batch.firstTimestamp + r.timestampDelta),
      headers,
    });
  }
  return out;
}
