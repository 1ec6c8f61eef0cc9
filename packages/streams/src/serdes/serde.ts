// Serializers and deserializers between typed keys/values and bytes, for topics and for state stores.

export interface Serializer<T> {
  serialize(value: T): Buffer | null;
}

export interface Deserializer<T> {
  deserialize(data: Buffer | null): T;
}

/** A serde for topic records: `null` stands for an absent key or a tombstone value. */
export interface Serde<T> extends Serializer<T>, Deserializer<T> {}

/**
 * A serde for state store keys and values, which are never null (the shape `@eddy/state` expects).
 * `cacheKey` lets caching stores skip serialization on hits.
 */
export interface StoreSerde<T> {
  serialize(value: T): Uint8Array;
  deserialize(bytes: Uint8Array): T;
  cacheKey?(value: T): string;
  /**
   * True when `deserialize(serialize(v))` gives back `v` exactly: caching stores may then keep typed values and
   * serialize only when they flush.
   */
  lossless?: boolean;
}

/** A built-in serde: usable for topics (nullable) and for stores (non-null). */
// The nullable signatures come last: type inference reads the last overload, so streams see `T | null`.
export type BuiltinSerde<T> = StoreSerde<T> & Serde<T | null>;

const asBuffer = (b: Uint8Array): Buffer =>
  Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);

const stringSerde = {
  serialize: (v: string | null) => (v === null || v === undefined ? null : Buffer.from(v, 'utf8')),
  deserialize: (b: Uint8Array | null) => (b === null ? null : asBuffer(b).toString('utf8')),
  // Two strings encode to the same UTF-8 bytes exactly when their well-formed forms are equal.
  cacheKey: (v: string) => (v.isWellFormed() ? v : v.toWellFormed()),
} as BuiltinSerde<string>;

// Copies both ways: stores and the record collector keep the serialized bytes until a commit, and a store hands
// out its cached bytes to `deserialize`; neither may share memory with a Buffer the application holds.
const bytesSerde = {
  serialize: (v: Buffer | null) => (v === null || v === undefined ? null : Buffer.from(v)),
  deserialize: (b: Uint8Array | null) => (b === null ? null : Buffer.from(b)),
} as BuiltinSerde<Buffer>;

const jsonSerde = {
  serialize: (v: unknown) => (v === null || v === undefined ? null : Buffer.from(JSON.stringify(v), 'utf8')),
  deserialize: (b: Uint8Array | null) => (b === null ? null : JSON.parse(asBuffer(b).toString('utf8'))),
} as BuiltinSerde<unknown>;

const float64Serde = {
  serialize: (v: number | null) => {
    if (v === null || v === undefined) return null;
    const b = Buffer.allocUnsafe(8);
    b.writeDoubleBE(v);
    return b;
  },
  deserialize: (b: Uint8Array | null) => {
    if (b === null) return null;
    if (b.byteLength !== 8) throw new RangeError(`a float64 needs 8 bytes, got ${b.byteLength}`);
    return asBuffer(b).readDoubleBE(0);
  },
  lossless: true,
} as BuiltinSerde<number>;

/** The built-in serdes. For topics, `null` maps to a null key/value (a tombstone) in every one of them. */
export const Serdes = {
  /** UTF-8 strings. */
  string: (): BuiltinSerde<string> => stringSerde,
  /** Raw bytes, copied: later changes to the application's Buffer do not reach a store or a record, nor back. */
  bytes: (): BuiltinSerde<Buffer> => bytesSerde,
  /** JSON text in UTF-8; a parse failure throws, which the runtime reports as a deserialization error. */
  json: <T = unknown>(): BuiltinSerde<T> => jsonSerde as BuiltinSerde<T>,
  /** Numbers as 8-byte big-endian IEEE 754 doubles. */
  float64: (): BuiltinSerde<number> => float64Serde,
} as const;
