// How typed keys and values become bytes; scans follow the byte order the key serde produces.

export interface Serde<T> {
  /**
   * Must return an array that nothing mutates afterwards: stores keep references to it until (and after) a commit.
   * A serde whose values are byte arrays copies them, since the caller may reuse its array.
   */
  serialize(value: T): Uint8Array;
  /** `bytes` may be a store's own cached array: a value that is a byte array must be a copy, not a view of it. */
  deserialize(bytes: Uint8Array): T;
  /**
   * Optional fast path for caching stores: a string equal for two values exactly when their serialized bytes are
   * equal (e.g. `s.toWellFormed()` for UTF-8 strings). Cache hits then skip serialization entirely.
   */
  cacheKey?(value: T): string;
  /**
   * Optional: true when `deserialize(serialize(v))` gives back `v` for every value written (e.g. an int32 serde
   * that is only given int32 numbers). A caching store may then keep numbers, booleans and bigints unserialized
   * until its flush: a put no longer serializes, a hit no longer deserializes, and each dirty key is serialized
   * once per flush. A serializer that throws then does so in `prepareCommit` instead of in `put`.
   */
  lossless?: boolean;
}
