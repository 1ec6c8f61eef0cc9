// Wire access for tests: a socketFactory that sees every request frame and may rewrite response chunks, one that
// keeps the frames of chosen APIs, and a reader for them.
import net from 'node:net';
import type { ISocketFactory } from 'kafkajs';

export interface WireHooks {
  /** Called with each request frame written to the broker (size, api key, version, correlation id, ...). */
  request?(frame: Buffer): void;
  /** Called with each chunk read from the broker before kafkajs sees it; it may change the chunk in place. */
  response?(chunk: Buffer): void;
}

/** A socketFactory whose sockets call `hooks` on what they write and read. */
export function interceptingSocketFactory(hooks: WireHooks): ISocketFactory {
  return ({ host, port, onConnect }) => {
    const socket = net.connect({ host, port }, onConnect);
    const write = socket.write.bind(socket) as (chunk: Buffer, ...rest: unknown[]) => boolean;
    socket.write = ((chunk: Buffer | string, ...rest: unknown[]) => {
      if (Buffer.isBuffer(chunk) && chunk.length >= 12) hooks.request?.(chunk);
      return write(chunk as Buffer, ...rest);
    }) as typeof socket.write;
    const emit = socket.emit.bind(socket) as (event: string | symbol, ...args: unknown[]) => boolean;
    socket.emit = ((event: string | symbol, ...args: unknown[]) => {
      const chunk = args[0];
      if (event === 'data' && Buffer.isBuffer(chunk) && chunk.length >= 8) hooks.response?.(chunk);
      return emit(event, ...args);
    }) as typeof socket.emit;
    return socket;
  };
}

/** A socketFactory that keeps the request frames whose api key is a key of `frames`. */
export function recordingSocketFactory(frames: Map<number, Buffer[]>): ISocketFactory {
  return interceptingSocketFactory({ request: (frame) => frames.get(frame.readInt16BE(4))?.push(frame) });
}

/**
 * Reads a request frame: size, header (api key, version, correlation id, client id; a flexible version adds its
 * tagged fields), then the body through the typed readers.
 */
export class FrameReader {
  #at = 4;
  readonly apiKey: number;
  readonly apiVersion: number;

  constructor(
    private readonly frame: Buffer,
    { flexible = false } = {},
  ) {
    this.apiKey = this.int16();
    this.apiVersion = this.int16();
    this.int32();
    this.string();
    if (flexible) this.uvarint();
  }

  int16(): number {
    const v = this.frame.readInt16BE(this.#at);
    this.#at += 2;
    return v;
  }

  int32(): number {
    const v = this.frame.readInt32BE(this.#at);
    this.#at += 4;
    return v;
  }

  int64(): bigint {
    const v = this.frame.readBigInt64BE(this.#at);
    this.#at += 8;
    return v;
  }

  string(): string | null {
    return this.text(this.int16());
  }

  uvarint(): number {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = this.frame[this.#at++]!;
      value |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return value;
    }
  }

  /** A flexible version's string: length + 1 as an unsigned varint, 0 for null. */
  compactString(): string | null {
    return this.text(this.uvarint() - 1);
  }

  private text(length: number): string | null {
    if (length < 0) return null;
    const v = this.frame.toString('utf8', this.#at, this.#at + length);
    this.#at += length;
    return v;
  }
}
