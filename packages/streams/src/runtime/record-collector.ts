// Buffers a task's output records and sends them to Kafka, one send at a time.
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

/**
 * At most one send is under way, so records reach each partition in the order they were added. A failed send puts
 * its records back at the head of the buffer and keeps its error until `settle` or `flush` reports it.
 */
export class RecordCollector {
  private buffer: OutgoingRecord[] = [];
  private sentCount = 0;
  /** Records added and not rolled back since the collector was created: what `mark` counts. */
  private added = 0;
  /** The send under way; it never rejects. */
  private sending: Promise<void> | undefined;
  private sendingCount = 0;
  /** The error of a failed send, until it is reported. */
  private failure: StreamsError | undefined;

  constructor(private readonly producer: ProducerPort) {}

  add(record: OutgoingRecord): void {
    this.buffer.push(record);
    this.added++;
  }

  /** A point to roll back to: outputs added after it can be taken back before they are sent. */
  mark(): number {
    return this.added;
  }

  rollback(mark: number): void {
    const count = this.added - mark;
    if (count <= 0) return;
    if (count > this.buffer.length) {
      throw new StreamsError('ILLEGAL_STATE', 'a rollback reaches output that was already handed to a send');
    }
    this.buffer.length -= count;
    this.added = mark;
  }

  /** Records not acknowledged yet: buffered, or in the send under way. */
  get pending(): number {
    return this.buffer.length + this.sendingCount;
  }

  /** Records acknowledged by Kafka since the collector was created. */
  get sent(): number {
    return this.sentCount;
  }

  /** True when `startSend` would send buffered records, or `settle` would report a failure, without waiting. */
  get waiting(): boolean {
    return this.sending === undefined && (this.failure !== undefined || this.buffer.length > 0);
  }

  /** Takes the buffered records without sending them (the test driver delivers them itself). */
  drain(): OutgoingRecord[] {
    const records = this.buffer;
    this.buffer = [];
    this.sentCount += records.length;
    return records;
  }

  /**
   * Starts sending everything buffered, without waiting for the acknowledgement; does nothing while a send is under
   * way or a failure is not reported yet.
   */
  startSend(): void {
    if (this.sending !== undefined || this.failure !== undefined || this.buffer.length === 0) return;
    const records = this.buffer;
    this.buffer = [];
    this.sendingCount = records.length;
    this.sending = this.producer
      .send(records)
      .then(
        () => {
          this.sentCount += records.length;
        },
        (cause: unknown) => {
          // Nothing of this batch counts as delivered, so no offset past it is committed: it goes out again first.
          this.buffer = records.concat(this.buffer);
          this.failure = new StreamsError(
            refusedAsTooLarge(cause) ? 'RECORD_TOO_LARGE' : 'PRODUCE_FAILED',
            `sending ${records.length} output records failed: ${String(cause)}`,
            { cause },
          );
        },
      )
      .finally(() => {
        this.sending = undefined;
        this.sendingCount = 0;
      });
  }

  /** Waits for the send under way; rejects with the failure of a send not reported yet (its records are buffered). */
  async settle(): Promise<void> {
    await this.sending;
    const failure = this.failure;
    if (failure === undefined) return;
    this.failure = undefined;
    throw failure;
  }

  /**
   * Before the group may move partitions away (a rejoin): sends what is buffered and waits until no send is under way,
   * so that no output of this member lands after a new owner's; a failure stays for `settle` to report.
   */
  async quiesce(): Promise<void> {
    await this.sending;
    this.startSend();
    await this.sending;
  }

  /** Sends everything buffered and resolves once Kafka acknowledged all of it, and everything sent before. */
  async flush(): Promise<void> {
    await this.settle();
    this.startSend();
    await this.settle();
  }
}
