// Source marks: per source partition, the highest input offset whose effects a store holds; and their header encoding.
import { StateStoreError } from '../errors.js';

/** The changelog record header that carries the task's input position at the flush that produced the record. */
export const SOURCE_MARKS_HEADER = 'eddy.src';

export interface SourceMark {
  topic: string;
  partition: number;
  offset: number;
}

const FORMAT_VERSION = 1;

/** Binary form: version u8, count u16, then per mark: topic length u16, topic utf8, partition u32, offset u64 (all big-endian). */
export function encodeSourceMarks(marks: readonly SourceMark[]): Buffer {
  const topics = marks.map((m) => Buffer.from(m.topic, 'utf8'));
  let size = 3;
  for (const t of topics) size += 2 + t.length + 4 + 8;
  const out = Buffer.allocUnsafe(size);
  out.writeUInt8(FORMAT_VERSION, 0);
  out.writeUInt16BE(marks.length, 1);
  let at = 3;
  marks.forEach((mark, i) => {
    const topic = topics[i]!;
    if (!Number.isSafeInteger(mark.offset) || mark.offset < -1) {
      throw new StateStoreError(
        'INVALID_ARGUMENT',
        `source offset ${mark.offset} is not a safe integer >= -1`,
      );
    }
    out.writeUInt16BE(topic.length, at);
    topic.copy(out, at + 2);
    at += 2 + topic.length;
    out.writeUInt32BE(mark.partition, at);
    out.writeBigInt64BE(BigInt(mark.offset), at + 4);
    at += 12;
  });
  return out;
}

export function decodeSourceMarks(bytes: Uint8Array): SourceMark[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const fail = (why: string): never => {
    throw new StateStoreError('INVALID_HEADER', `cannot decode ${SOURCE_MARKS_HEADER} header: ${why}`);
  };
  if (buf.length < 3) fail('too short');
  if (buf.readUInt8(0) !== FORMAT_VERSION) fail(`unknown version ${buf.readUInt8(0)}`);
  const count = buf.readUInt16BE(1);
  const marks: SourceMark[] = [];
  let at = 3;
  for (let i = 0; i < count; i++) {
    if (at + 2 > buf.length) fail('truncated');
    const topicLength = buf.readUInt16BE(at);
    if (at + 2 + topicLength + 12 > buf.length) fail('truncated');
    const topic = buf.toString('utf8', at + 2, at + 2 + topicLength);
    at += 2 + topicLength;
    const partition = buf.readUInt32BE(at);
    const offset = Number(buf.readBigInt64BE(at + 4));
    if (!Number.isSafeInteger(offset) || offset < -1) fail(`offset ${offset} of ${topic} is out of range`);
    at += 12;
    marks.push({ topic, partition, offset });
  }
  if (at !== buf.length) fail('trailing bytes');
  return marks;
}

/** A mutable set of marks, looked up by topic and partition without allocating. */
export class SourcePositions {
  private readonly byTopic = new Map<string, Map<number, number>>();
  /** Counts the changes so far: a reader that remembered a mark knows it is still current while this stays. */
  version = 0;

  get(topic: string, partition: number): number | undefined {
    return this.byTopic.get(topic)?.get(partition);
  }

  set(topic: string, partition: number, offset: number): void {
    let partitions = this.byTopic.get(topic);
    if (partitions === undefined) {
      partitions = new Map();
      this.byTopic.set(topic, partitions);
    }
    partitions.set(partition, offset);
    this.version++;
  }

  /** Raises the mark to `offset` if it is higher. */
  advance(topic: string, partition: number, offset: number): void {
    const current = this.get(topic, partition);
    if (current === undefined || offset > current) this.set(topic, partition, offset);
  }

  advanceAll(marks: Iterable<SourceMark>): void {
    for (const m of marks) this.advance(m.topic, m.partition, m.offset);
  }

  toArray(): SourceMark[] {
    const out: SourceMark[] = [];
    for (const [topic, partitions] of this.byTopic) {
      for (const [partition, offset] of partitions) out.push({ topic, partition, offset });
    }
    return out;
  }

  get size(): number {
    let n = 0;
    for (const partitions of this.byTopic.values()) n += partitions.size;
    return n;
  }

  clear(): void {
    this.byTopic.clear();
    this.version++;
  }
}
