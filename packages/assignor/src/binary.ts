// Growable byte writer and bounds-checked reader for the userData codec (varints, strings, raw bytes).

import { AssignorError } from './errors.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export class ByteWriter {
  private buffer = new Uint8Array(256);
  private length = 0;

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.length + bytes) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }

  uint8(value: number): void {
    this.reserve(1);
    this.buffer[this.length++] = value & 0xff;
  }

  int16(value: number): void {
    this.uint8(value >> 8);
    this.uint8(value);
  }

  /** Unsigned LEB128 of a non-negative safe integer. */
  varint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new AssignorError('ASSIGNOR_ENCODE_FAILED', `${value} is not a non-negative safe integer`);
    }
    let rest = value;
    while (rest >= 0x80) {
      this.uint8((rest % 0x80) | 0x80);
      rest = Math.floor(rest / 0x80);
    }
    this.uint8(rest);
  }

  bytes(value: Uint8Array): void {
    this.reserve(value.length);
    this.buffer.set(value, this.length);
    this.length += value.length;
  }

  /** Varint byte length, then UTF-8. */
  string(value: string): void {
    const bytes = encoder.encode(value);
    this.varint(bytes.length);
    this.bytes(bytes);
  }

  toBuffer(): Buffer {
    return Buffer.from(this.buffer.subarray(0, this.length));
  }
}

export class ByteReader {
  private offset = 0;

  constructor(private readonly data: Uint8Array) {}

  get remaining(): number {
    return this.data.length - this.offset;
  }

  private need(bytes: number, what: string): void {
    if (this.remaining < bytes) {
      throw decodeFailed(`truncated: ${what} needs ${bytes} byte(s) at offset ${this.offset}`);
    }
  }

  uint8(what: string): number {
    this.need(1, what);
    return this.data[this.offset++]!;
  }

  int16(what: string): number {
    const high = this.uint8(what);
    const low = this.uint8(what);
    return (((high << 8) | low) << 16) >> 16;
  }

  varint(what: string): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      const byte = this.uint8(what);
      value += (byte & 0x7f) * scale;
      if (!Number.isSafeInteger(value)) throw decodeFailed(`${what}: varint exceeds the safe integer range`);
      if ((byte & 0x80) === 0) return value;
      scale *= 0x80;
    }
  }

  bytes(length: number, what: string): Uint8Array {
    this.need(length, what);
    const out = this.data.subarray(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }

  string(what: string): string {
    const length = this.varint(what);
    const bytes = this.bytes(length, what);
    try {
      return decoder.decode(bytes);
    } catch (err) {
      throw decodeFailed(`${what} is not valid UTF-8`, err);
    }
  }

  /** A list length, sanity-checked against the bytes left (each element takes at least `minBytes`). */
  count(what: string, minBytes: number): number {
    const count = this.varint(what);
    if (count * minBytes > this.remaining) throw decodeFailed(`${what}: ${count} elements cannot fit`);
    return count;
  }
}

export function decodeFailed(message: string, cause?: unknown): AssignorError {
  return new AssignorError('ASSIGNOR_DECODE_FAILED', message, { cause });
}
