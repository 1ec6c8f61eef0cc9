// The header a repartition sink puts on each record: the input record it came from, so that the reading task can
// drop a copy that a replay of that input wrote again (exact state under at-least-once across repartition hops).

/** The input topic, partition and offset whose processing wrote the record, and its index among those records. */
export interface RepartitionSource {
  topic: string;
  partition: number;
  offset: number;
  seq: number;
}

export const REPARTITION_SOURCE_HEADER = 'eddy.rp';

/** Records one input record may write to repartition topics with a position; later ones carry none. */
export const MAX_RECORDS_PER_INPUT = 4096;

const VERSION = 1;

/** version u8, topic length u16, topic utf8, partition u32, offset i64, seq u16 (big-endian). */
export function encodeRepartitionSource(s: RepartitionSource): Buffer {
  const topic = Buffer.from(s.topic, 'utf8');
  const out = Buffer.allocUnsafe(1 + 2 + topic.length + 4 + 8 + 2);
  out.writeUInt8(VERSION, 0);
  out.writeUInt16BE(topic.length, 1);
  topic.copy(out, 3);
  let at = 3 + topic.length;
  out.writeUInt32BE(s.partition, at);
  out.writeBigInt64BE(BigInt(s.offset), at + 4);
  out.writeUInt16BE(s.seq, at + 12);
  at += 14;
  return out;
}

/** The source of a repartition record, or undefined for bytes that are not a header of this version. */
export function decodeRepartitionSource(bytes: Buffer | undefined): RepartitionSource | undefined {
  if (bytes === undefined || bytes.length < 3 || bytes.readUInt8(0) !== VERSION) return undefined;
  const length = bytes.readUInt16BE(1);
  if (bytes.length !== 3 + length + 14) return undefined;
  const topic = bytes.toString('utf8', 3, 3 + length);
  const at = 3 + length;
  const offset = Number(bytes.readBigInt64BE(at + 4));
  const seq = bytes.readUInt16BE(at + 12);
  if (!Number.isSafeInteger(offset) || offset < 0 || seq >= MAX_RECORDS_PER_INPUT) return undefined;
  return { topic, partition: bytes.readUInt32BE(at), offset, seq };
}

/**
 * One number that orders a source's records: input offset, then index. It is kept as a source mark of the reading
 * task's stores, so it must stay a safe integer (offsets below 2^41).
 */
export function repartitionMark(s: RepartitionSource): number | undefined {
  const mark = s.offset * MAX_RECORDS_PER_INPUT + s.seq;
  return Number.isSafeInteger(mark) ? mark : undefined;
}
