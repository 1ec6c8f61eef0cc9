// How a processor reads a table's current value of a key, with its timestamp (joins, table transformations that are
// not materialized).
import type { KeyValueStore } from '@eddy/state';
import type { ProcessorContext } from '../processor.js';
import type { ValueAndTimestamp } from './value-and-timestamp.js';

/** @internal */
export interface ValueGetterSupplier<K, V> {
  /** The stores a processor must be connected to before it may read through this getter. */
  readonly storeNames: readonly string[];
  /**
   * Called from a processor's `init`: the getter of that processor's task. It gives a key's value with the
   * timestamp Kafka Streams keeps with it (that of the update that made it), undefined when the key has none.
   */
  create(ctx: ProcessorContext<unknown, unknown>): (key: K) => ValueAndTimestamp<V> | undefined;
}

/** @internal the getter of a table materialized in the timestamped key-value store `storeName`. */
export function storeValueGetter<K, V>(storeName: string): ValueGetterSupplier<K, V> {
  return {
    storeNames: [storeName],
    create(ctx) {
      const store = ctx.getStateStore<KeyValueStore<K, ValueAndTimestamp<V>>>(storeName);
      return (key) => store.get(key);
    },
  };
}

/** @internal the later of a record's timestamp and that of the value it was joined with (if any). */
export function joinedTimestamp(
  timestamp: number,
  other: ValueAndTimestamp<unknown> | undefined | null,
): number {
  return other === undefined || other === null || other.timestamp <= timestamp ? timestamp : other.timestamp;
}
