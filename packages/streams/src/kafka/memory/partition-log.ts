// One partition of the in-memory Kafka: an append-only log with a log start, a high watermark, transaction
// markers and the last stable offset.

import type { ConsumedRecord, RecordHeaders } from '../port.js';
import { kafkaError } from './errors.js';

/** The state of one transaction, shared by all the records it wrote. */
export interface TransactionMark {
  state: 'open' | 'committed' | 'aborted';
}

/** Which records a reader sees: every written record, or only committed ones below the last stable offset. */
export type Isolation = 'read_uncommitted' | 'read_committed';

interface LogEntry {
  offset: bigint;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number;
  headers: RecordHeaders;
  transaction: TransactionMark | undefined;
  /** A commit or abort marker: it takes an offset, as in Kafka, but no reader ever receives it. */
  control: boolean;
}

export interface AppendedRecord {
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number;
  headers?: RecordHeaders | undefined;
}

/** What one read returned: the records, and the offset after the last entry it looked at (markers included). */
export interface LogRead {
  records: ConsumedRecord[];
  next: bigint;
}

/** The smaller of two offsets (Math.min does not take bigints). */
function earlier(a: bigint, b: bigint): bigint {
  if (a < b) return a;
  return b;
}

const copy = (b: Buffer | null): Buffer | null => (b === null ? null : Buffer.from(b));

function copyHeaders(headers: RecordHeaders | undefined): RecordHeaders {
  const out: RecordHeaders = {};
  for (const name in headers) out[name] = Buffer.from(headers[name]!);
  return out;
}

export class PartitionLog {
  /** Entries from the log start on: entries[i] has offset start + i. */
  private entries: LogEntry[] = [];
  private start = 0n;
  /** First offset of each open transaction in this partition. */
  private readonly openTransactions = new Map<TransactionMark, bigint>();

  /** The first offset still in the log. */
  get logStartOffset(): bigint {
    return this.start;
  }

  /** The offset the next record gets. */
  get highWatermark(): bigint {
    return this.start + BigInt(this.entries.length);
  }

  /** Below this offset every transaction is decided: the end of what a read_committed reader sees. */
  get lastStableOffset(): bigint {
    let lso = this.highWatermark;
    for (const first of this.openTransactions.values()) if (first < lso) lso = first;
    return lso;
  }

  /** The end of what a reader with `isolation` may read. */
  endFor(isolation: Isolation): bigint {
    return isolation === 'read_committed' ? this.lastStableOffset : this.highWatermark;
  }

  /** Appends a record (copying its bytes) and returns its offset. */
  append(record: AppendedRecord, transaction?: TransactionMark): bigint {
    const offset = this.highWatermark;
    if (transaction !== undefined && !this.openTransactions.has(transaction)) {
      this.openTransactions.set(transaction, offset);
    }
    this.entries.push({
      offset,
      key: copy(record.key),
      value: copy(record.value),
      timestamp: record.timestamp,
      headers: copyHeaders(record.headers),
      transaction,
      control: false,
    });
    return offset;
  }

  /** Writes the marker that ends `transaction` in this partition (its state is already set by the caller). */
  endTransaction(transaction: TransactionMark, timestamp: number): void {
    if (!this.openTransactions.delete(transaction)) return;
    this.entries.push({
      offset: this.highWatermark,
      key: null,
      value: null,
      timestamp,
      headers: {},
      transaction,
      control: true,
    });
  }

  /** DeleteRecords: moves the log start to `offset` (at most the high watermark). */
  deleteBefore(offset: bigint): void {
    if (offset < 0n || offset > this.highWatermark) {
      throw kafkaError(
        'OFFSET_OUT_OF_RANGE',
        `cannot delete records before ${offset}: the log ends at ${this.highWatermark}`,
      );
    }
    if (offset <= this.start) return;
    this.entries.splice(0, Number(offset - this.start));
    this.start = offset;
  }

  /**
   * Up to `limit` records from `from` on, as a reader with `isolation` sees them: markers are skipped, and so are
   * aborted records for read_committed. `next` passes the entries looked at, so a reader never stalls on markers.
   */
  read(from: bigint, limit: number, isolation: Isolation, end = this.endFor(isolation)): LogRead {
    if (from < this.start) {
      throw kafkaError('OFFSET_OUT_OF_RANGE', `offset ${from} is below the log start ${this.start}`);
    }
    const stop = earlier(end, this.endFor(isolation));
    const records: ConsumedRecord[] = [];
    let offset = from;
    while (offset < stop && records.length < limit) {
      const e = this.entries[Number(offset - this.start)]!;
      offset++;
      if (e.control) continue;
      if (isolation === 'read_committed' && e.transaction?.state === 'aborted') continue;
      records.push({
        offset: e.offset.toString(),
        key: copy(e.key),
        value: copy(e.value),
        timestamp: e.timestamp,
        headers: copyHeaders(e.headers),
      });
    }
    return { records, next: offset };
  }
}
