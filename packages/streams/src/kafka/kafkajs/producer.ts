// The port's producer over an idempotent kafkajs Producer: one batched send per call.

import type { Producer } from 'kafkajs';
import type { OutgoingRecord, ProducerPort } from '../port.js';
import { lastOffsets, toTopicMessages } from './conversions.js';

export class KafkajsProducer implements ProducerPort {
  private closed = false;
  constructor(private readonly producer: Producer) {}

  connect(): Promise<void> {
    return this.producer.connect();
  }

  async send(records: OutgoingRecord[]): Promise<Map<string, bigint>> {
    if (records.length === 0) return new Map();
    const batch = toTopicMessages(records);
    return lastOffsets(
      await this.producer.sendBatch({ acks: -1, topicMessages: batch.topicMessages }),
      batch.counted,
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.producer.disconnect();
  }
}
