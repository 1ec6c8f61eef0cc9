// A producer port that keeps what it is sent, for tests of tasks and collectors.
import type { OutgoingRecord, ProducerPort } from '../src/kafka/port.js';

export class CapturingProducer implements ProducerPort {
  readonly sent: OutgoingRecord[] = [];
  async connect(): Promise<void> {}
  async send(records: OutgoingRecord[]): Promise<Map<string, bigint>> {
    this.sent.push(...records);
    return new Map();
  }
  async close(): Promise<void> {}
}
