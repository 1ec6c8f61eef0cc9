// The Confluent wire format: magic byte 0, the writer schema's id as a 4-byte big-endian integer, the Avro body.
import { AvroError } from './errors.js';

export const HEADER_BYTES = 5;

/** Prefixes an Avro body with the header for schema `id`. */
export function frame(id: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  out.writeUInt8(0, 0);
  out.writeUInt32BE(id, 1);
  body.copy(out, HEADER_BYTES);
  return out;
}

/** The schema id of framed bytes; throws WRONG_MAGIC_BYTE or TRUNCATED. */
export function schemaIdOf(bytes: Buffer): number {
  if (bytes.length >= 1 && bytes[0] !== 0) {
    throw new AvroError(
      'WRONG_MAGIC_BYTE',
      `expected magic byte 0, got ${bytes[0]}: not Confluent-framed Avro`,
    );
  }
  if (bytes.length < HEADER_BYTES) {
    throw new AvroError(
      'TRUNCATED',
      `a Confluent-framed record needs ${HEADER_BYTES} header bytes, got ${bytes.length}`,
    );
  }
  return bytes.readUInt32BE(1);
}
