// The serdes a DSL stream or table carries, and how operations that need one find it or say what is missing.
import { StreamsError } from '../../errors.js';
import type { Serde, StoreSerde } from '../../serdes/serde.js';

/** A serde for topics (null: absent key or tombstone) and for state stores (never null); every built-in serde is one. */
export type DslSerde<T> = StoreSerde<T> & Serde<T | null>;

/**
 * @internal the serdes known for a stream's keys and values (from its source or an operation's options); an
 * operation that changes the key or value type forgets the matching one.
 */
export interface KnownSerdes {
  key: unknown;
  value: unknown;
}

export const NO_SERDES: KnownSerdes = { key: undefined, value: undefined };

function isSerde(s: unknown): boolean {
  const serde = s as { serialize?: unknown; deserialize?: unknown } | undefined;
  return typeof serde?.serialize === 'function' && typeof serde.deserialize === 'function';
}

/** The first of `candidates` that can serialize and deserialize; INVALID_TOPOLOGY naming `what` when none can. */
export function requireSerde<T>(what: string, ...candidates: unknown[]): DslSerde<T> {
  for (const c of candidates) if (isSerde(c)) return c as DslSerde<T>;
  throw new StreamsError(
    'INVALID_TOPOLOGY',
    `${what} needs a serde (none is known for this stream): pass one in the operation's options, e.g. Serdes.string()`,
  );
}

/** The serde when it can serialize and deserialize, else undefined (e.g. a source given only a deserializer). */
export function knownSerde(s: unknown): unknown {
  return isSerde(s) ? s : undefined;
}

/** A string that is equal for two keys exactly when their serialized bytes are. */
export function keyIdOf<K>(serde: StoreSerde<K>): (key: K) => string {
  const cacheKey = serde.cacheKey;
  if (cacheKey !== undefined) return (k) => cacheKey.call(serde, k);
  return (k) => Buffer.from(serde.serialize(k)).toString('latin1');
}
