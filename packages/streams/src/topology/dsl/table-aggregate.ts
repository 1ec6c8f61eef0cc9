// The processor of count, reduce and aggregate on a grouped table: subtracts each change's old value from its
// group's aggregate and adds its new value.
import type { ProcessorSupplier } from '../processor.js';
import type { Change } from './change.js';
import type { TableStoreContext } from './materialized-table.js';
import { keyedAggregateSupplier } from './stream-aggregate.js';

export interface TableAggregator<K, V, A> {
  /** Adds a value to the aggregate (undefined: the group has none yet). */
  add(key: K, value: V, aggregate: A | undefined): A;
  /** Removes a value from the aggregate. */
  subtract(key: K, value: V, aggregate: A): A;
}

/**
 * As in Kafka Streams: the old value is subtracted only from an existing aggregate, then the new value is added; a
 * group whose values all left keeps its aggregate (e.g. a count of 0). A change that touches no aggregate (an old
 * value of a group that has none, and no new value) forwards nothing.
 */
export function tableAggregateSupplier<K, V, A>(
  { storeName, foldingBound, keyId }: TableStoreContext<K>,
  aggregator: TableAggregator<K, V, A>,
): ProcessorSupplier<K | null, Change<V> | null, K, Change<A>> {
  return keyedAggregateSupplier<K, Change<V>, A>(
    storeName,
    (key, change, old) => {
      let next = old;
      if (change.oldValue !== null && next !== undefined)
        next = aggregator.subtract(key, change.oldValue, next);
      if (change.newValue !== null) next = aggregator.add(key, change.newValue, next);
      return next;
    },
    foldingBound,
    keyId,
  );
}
