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
/** offset (two u32) and seq (u16) after the prefix. */
const TAIL_BYTES = 10;
const TWO_32 = 2 ** 32;

/**
 * The bytes that name an input partition: version u8, topic length u16, topic utf8, partition u32 (big-endian).
 * A task writes the same prefix for every record of one of its input partitions, so it keeps it.
 */
export function sourcePrefix(topic: string, partition: number): Buffer {
  const name = Buffer.from(topic, 'utf8');
  const out = Buffer.alloc(3 + name.length + 4);
  out.writeUInt8(VERSION, 0);
  out.writeUInt16BE(name.length, 1);
  name.copy(out, 3);
  out.writeUInt32BE(partition, 3 + name.length);
  return out;
}

/** The header: the input partition's prefix, then the offset (u64 as two u32) and the index (u16). */
export function encodeRepartitionSource(prefix: Buffer, offset: number, seq: number): Buffer {
  const out = Buffer.allocUnsafe(prefix.length + TAIL_BYTES);
  prefix.copy(out, 0);
  const at = prefix.length;
  out.writeUInt32BE(Math.floor(offset / TWO_32), at);
  out.writeUInt32BE(offset >>> 0, at + 4);
  out.writeUInt16BE(seq, at + 8);
  return out;
}

/** A string that identifies an input partition (the prefix's bytes), cheap to take from a header. */
export function sourceKey(prefix: Buffer): string {
  return prefix.toString('latin1');
}

/**
 * The input partition's key and the record's mark: one number that orders a source's records (input offset, then
 * index), kept as a source mark of the reading task's stores, so it must stay a safe integer (offsets below 2^41).
 * Undefined for bytes that are not a header of this version.
 */
export function readRepartitionSource(bytes: Buffer | undefined): { key: string; mark: number } | undefined {
  if (bytes === undefined || bytes.length < 3 + 4 + TAIL_BYTES || bytes[0] !== VERSION) return undefined;
  const at = bytes.length - TAIL_BYTES;
  if (bytes.readUInt16BE(1) !== at - 7) return undefined;
  const seq = bytes.readUInt16BE(at + 8);
  const mark = (bytes.readUInt32BE(at) * TWO_32 + bytes.readUInt32BE(at + 4)) * MAX_RECORDS_PER_INPUT + seq;
  if (!Number.isSafeInteger(mark) || seq >= MAX_RECORDS_PER_INPUT) return undefined;
  return { key: bytes.toString('latin1', 0, at), mark };
}

/**
 * The name under which a reading task keeps (as a source mark of its stores) its position for one upstream input
 * partition seen through one of its repartition topics. One input record may write to several repartition topics
 * that one task reads (both sides of a foreign-key join, or two joins of one table): each topic brings that input's
 * records in order, but the task reads the topics in no common order, so a position is only valid per topic. `>`
 * cannot occur in a Kafka topic name, so the name never equals a real topic.
 */
export function upstreamMarkTopic(repartitionTopic: string, upstreamTopic: string): string {
  return `${upstreamTopic}>${repartitionTopic}`;
}

/** The two topics an `upstreamMarkTopic` name joins; undefined for any other name. */
export function parseUpstreamMarkTopic(
  name: string,
): { repartitionTopic: string; upstreamTopic: string } | undefined {
  const at = name.indexOf('>');
  if (at <= 0 || at === name.length - 1) return undefined;
  return { upstreamTopic: name.slice(0, at), repartitionTopic: name.slice(at + 1) };
}

/** All of a header, or undefined for bytes that are not a header of this version. */
export function decodeRepartitionSource(bytes: Buffer | undefined): RepartitionSource | undefined {
  if (readRepartitionSource(bytes) === undefined) return undefined;
  const b = bytes!;
  const length = b.readUInt16BE(1);
  const at = 3 + length;
  return {
    topic: b.toString('utf8', 3, at),
    partition: b.readUInt32BE(at),
    offset: b.readUInt32BE(at + 4) * TWO_32 + b.readUInt32BE(at + 8),
    seq: b.readUInt16BE(at + 12),
  };
}
