// The port's producer over an idempotent kafkajs Producer: batched sends, split by size.

import type { Producer } from '#kafkajs';
import type { OutgoingRecord, ProducerPort } from '../port.js';
import { chunkBySize, lastOffsets, toTopicMessages } from './conversions.js';

export class KafkajsProducer implements ProducerPort {
  private closed = false;
  constructor(private readonly producer: Producer) {}

  connect(): Promise<void> {
    return this.producer.connect();
  }

  async send(records: OutgoingRecord[]): Promise<Map<string, bigint>> {
    const last = new Map<string, bigint>();
    // One request after another: the idempotent producer keeps each partition's records in order.
    for (const chunk of chunkBySize(records)) {
      const batch = toTopicMessages(chunk);
      const metadata = await this.producer.sendBatch({ acks: -1, topicMessages: batch.topicMessages });
      for (const [key, offset] of lastOffsets(metadata, batch.counted)) last.set(key, offset);
    }
    return last;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.producer.disconnect();
  }
}
