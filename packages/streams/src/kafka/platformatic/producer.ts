// The port's idempotent producer over a @platformatic/kafka Producer (acks=all).

import type { OutgoingRecord, ProducerPort } from '../port.js';
import { chunkBySize } from '../send-chunks.js';
import { portError } from './errors.js';
import { loadLibrary, type Platformatic } from './library.js';
import { lastOffsets, RecordPlacer } from './records.js';

type Producer = Platformatic.Producer<Buffer | null, Buffer | null, Buffer, Buffer>;

export class PlatformaticProducer implements ProducerPort {
  private producer: Producer | undefined;
  private readonly placer = new RecordPlacer();
  private closed = false;

  constructor(private readonly options: Platformatic.BaseOptions) {}

  async connect(): Promise<void> {
    const producer = await this.client();
    await producer.metadata({ topics: [] }).catch((err) => {
      throw portError(err);
    });
  }

  async send(records: OutgoingRecord[]): Promise<Map<string, bigint>> {
    if (records.length === 0) return new Map();
    const producer = await this.client();
    try {
      const counts = await partitionCounts(producer, records);
      const last = new Map<string, bigint>();
      // The library writes a request's records of one partition as one record batch, which the broker refuses
      // over max.message.bytes: a large send goes in several requests, in order.
      for (const chunk of chunkBySize(records)) {
        const placed = this.placer.place(chunk, (t) => counts.get(t) ?? 0);
        const result = await producer.send({ messages: placed.messages });
        for (const [tp, offset] of lastOffsets(result, placed.counts)) last.set(tp, offset);
      }
      return last;
    } catch (err) {
      throw portError(err);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.producer?.close();
  }

  private async client(): Promise<Producer> {
    if (this.closed) throw new Error('the producer is closed');
    const lib = await loadLibrary();
    this.producer ??= new lib.Producer({ ...this.options, idempotent: true, acks: lib.ProduceAcks.ALL });
    return this.producer;
  }
}

/** The partition counts of the topics of `records` that need a partition chosen, from the client's metadata. */
export async function partitionCounts(
  client: Platformatic.Base,
  records: OutgoingRecord[],
): Promise<Map<string, number>> {
  const topics = [...new Set(records.filter((r) => r.partition === undefined).map((r) => r.topic))];
  const counts = new Map<string, number>();
  if (topics.length === 0) return counts;
  const metadata = await client.metadata({ topics });
  for (const topic of topics) counts.set(topic, metadata.topics.get(topic)?.partitionsCount ?? 0);
  return counts;
}
