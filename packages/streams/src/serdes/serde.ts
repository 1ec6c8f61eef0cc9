// Serializers and deserializers between typed keys/values and the bytes stored in Kafka.

export interface Serializer<T> {
  serialize(value: T): Buffer | null;
}

export interface Deserializer<T> {
  deserialize(data: Buffer | null): T;
}

export interface Serde<T> extends Serializer<T>, Deserializer<T> {}

const stringSerde: Serde<string | null> = {
  serialize: (v) => (v === null || v === undefined ? null : Buffer.from(v, 'utf8')),
  deserialize: (b) => (b === null ? null : b.toString('utf8')),
};

const bytesSerde: Serde<Buffer | null> = {
  serialize: (v) => v,
  deserialize: (b) => b,
};

const jsonSerde: Serde<unknown> = {
  serialize: (v) => (v === null || v === undefined ? null : Buffer.from(JSON.stringify(v), 'utf8')),
  deserialize: (b) => (b === null ? null : JSON.parse(b.toString('utf8'))),
};

/** The built-in serdes. `null` maps to a null key/value (a tombstone) in every one of them. */
export const Serdes = {
  /** UTF-8 strings. */
  string: (): Serde<string | null> => stringSerde,
  /** Raw bytes, passed through. */
  bytes: (): Serde<Buffer | null> => bytesSerde,
  /** JSON text in UTF-8; a parse failure throws, which the runtime reports as a deserialization error. */
  json: <T = unknown>(): Serde<T | null> => jsonSerde as Serde<T | null>,
} as const;
