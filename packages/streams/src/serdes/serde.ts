// Serializers and deserializers between typed keys/values and bytes, for topics and for state stores.

/** Where a topology uses a serde: told to the serde's `prepare` when the app starts, once per use. */
export interface SerdeUse {
  applicationId: string;
  /**
   * What the bytes are: records of an input topic the app reads, an output topic it writes, one of its repartition
   * topics, or the entries of one of its stores (and of the store's changelog topic, which carries the same bytes).
   */
  kind: 'input' | 'output' | 'repartition' | 'store';
  /**
   * The topic the bytes travel on: the input, output or repartition topic, or the store's changelog topic (named
   * even when the store keeps no changelog); undefined for a sink that picks its topic per record.
   */
  topic: string | undefined;
  /** The store's name, for kind `store`. */
  store?: string;
  /** Whether the serde serializes keys or values here. */
  part: 'key' | 'value';
  /** Whether the app writes such bytes (sinks, repartition sinks and stores) or only reads them. */
  writes: boolean;
  /** True for a dry run: the serde reports what it would decide and changes nothing outside the process. */
  dryRun: boolean;
  /** Receives the serde's decisions, e.g. for a deployment pipeline's log. */
  report(decision: SerdeDecision): void;
}

/** What a serde decided while preparing for one use. */
export interface SerdeDecision {
  use: Omit<SerdeUse, 'report'>;
  /** A short verdict, e.g. `compatible`, `register`, `refuse`. */
  outcome: string;
  message: string;
}

/**
 * Optional on every serde: asynchronous work before the app processes anything (e.g. fetching or registering
 * schemas), so that `serialize` and `deserialize` stay synchronous. A rejection fails the start before the app joins
 * its group; one whose error has `transient: true` (e.g. a schema registry that did not answer) is retried like
 * Kafka unreachable when the app has `retryBackoff`. An app prepares its serdes once: a reconnect after a transient
 * failure does not prepare them again.
 */
export interface Preparable {
  prepare?(use: SerdeUse): Promise<void>;
}

export interface Serializer<T> extends Preparable {
  serialize(value: T): Buffer | null;
}

export interface Deserializer<T> extends Preparable {
  deserialize(data: Buffer | null): T;
}

/** A serde for topic records: `null` stands for an absent key or a tombstone value. */
export interface Serde<T> extends Serializer<T>, Deserializer<T> {}

/**
 * A serde for state store keys and values, which are never null (the shape `@eddy/state` expects).
 * `cacheKey` lets caching stores skip serialization on hits.
 */
export interface StoreSerde<T> extends Preparable {
  serialize(value: T): Uint8Array;
  deserialize(bytes: Uint8Array): T;
  cacheKey?(value: T): string;
  /**
   * True when `deserialize(serialize(v))` gives back `v` exactly: caching stores may then keep typed values and
   * serialize only when they flush.
   */
  lossless?: boolean;
}

/** @internal the `prepare` of a serde that wraps others: prepares each of them for the same use. */
export function prepareInner(...inner: Preparable[]): Required<Preparable> {
  return {
    prepare: async (use) => {
      for (const serde of inner) await serde.prepare?.(use);
    },
  };
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
