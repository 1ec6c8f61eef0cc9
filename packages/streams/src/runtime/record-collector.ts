// Buffers a task's output records and sends them to Kafka in one batch per flush.
import { StreamsError } from '../errors.js';
import type { OutgoingRecord, ProducerPort } from '../kafka/port.js';
import { refusedAsTooLarge } from './record-size.js';

/** For collectors that are only drained, never flushed (the test driver, benchmarks): sending fails loudly. */
export const DRAIN_ONLY: ProducerPort = {
  connect: async () => {},
  send: async () => {
    throw new StreamsError('ILLEGAL_STATE', 'this record collector is drained, not sent');
  },
  close: async () => {},
};

export class RecordCollector {
  private buffer: OutgoingRecord[] = [];
  private sentCount = 0;

  constructor(private readonly producer: ProducerPort) {}

  add(record: OutgoingRecord): void {
    this.buffer.push(record);
  }

  /** A point to roll back to: outputs added after it can be taken back before they are sent. */
  mark(): number {
    return this.buffer.length;
  }

  rollback(mark: number): void {
    if (mark < this.buffer.length) this.buffer.length = mark;
  }

  get pending(): number {
    return this.buffer.length;
  }

  /** Records acknowledged by Kafka since the collector was created. */
  get sent(): number {
    return this.sentCount;
  }

  /** Takes the buffered records without sending them (the test driver delivers them itself). */
  drain(): OutgoingRecord[] {
    const records = this.buffer;
    this.buffer = [];
    this.sentCount += records.length;
    return records;
  }

  /**
   * Sends everything buffered and resolves once Kafka acknowledged all of it, with the last offset written to
   * each explicitly chosen partition (`topic:partition`).
   */
  async flush(): Promise<Map<string, bigint>> {
    if (this.buffer.length === 0) return new Map();
    const records = this.buffer;
    this.buffer = [];
    let offsets: Map<string, bigint>;
    try {
      offsets = await this.producer.send(records);
    } catch (cause) {
      // Keep the records: nothing of this batch counts as delivered, so no offset past them is committed.
      this.buffer = records.concat(this.buffer);
      throw new StreamsError(
        refusedAsTooLarge(cause) ? 'RECORD_TOO_LARGE' : 'PRODUCE_FAILED',
        `sending ${records.length} output records failed: ${String(cause)}`,
        {
          cause,
        },
      );
    }
    this.sentCount += records.length;
    return offsets;
  }
}
