// KGroupedStream: a stream whose records sit on the partition of their key, ready to aggregate.
import { Serdes } from '../../serdes/serde.js';
import type { DslGraph } from './dsl-graph.js';
import type { KTable } from './ktable.js';
import type { Materialized } from './materialized.js';
import { aggregateTable } from './materialized-table.js';
import type { Named } from './naming.js';
import { type KnownSerdes, requireSerde } from './serdes.js';
import { SessionWindowedKStream } from './session-windowed-kstream.js';
import { SessionWindows } from './session-windows.js';
import type { SlidingWindows } from './sliding-windows.js';
import { keyedAggregateSupplier } from './stream-aggregate.js';
import { TimeWindowedKStream } from './time-windowed-kstream.js';
import type { TimeWindows } from './time-windows.js';

/** Records with a null key or value are skipped by every aggregation. */
export class KGroupedStream<K, V> {
  /** @internal */
  constructor(
    /** @internal */
    readonly graph: DslGraph,
    /** @internal the node whose records are partitioned by key (a repartition source, or the stream itself). */
    readonly nodeName: string,
    /** @internal */
    readonly serdes: KnownSerdes,
  ) {}

  /** Counts records per key. */
  count(materialized: Materialized<K, number> = {}, named?: Named): KTable<K, number> {
    return this.aggregate<number>(
      () => 0,
      (_key, _value, n) => n + 1,
      { ...materialized, valueSerde: materialized.valueSerde ?? Serdes.float64() },
      named,
      'count',
    );
  }

  /** Combines the values of each key with `reducer`; the first value of a key is its first aggregate. */
  reduce(
    reducer: (aggregate: V, value: V) => V,
    materialized: Materialized<K, V> = {},
    named?: Named,
  ): KTable<K, V> {
    return this.materialize<V>(
      'reduce',
      {
        ...materialized,
        valueSerde: requireSerde<V>('reduce (value)', materialized.valueSerde, this.serdes.value),
      },
      named,
      (_key, value, old) => (old === undefined ? value : reducer(old, value)),
    );
  }

  /** Folds the values of each key into an aggregate that starts at `initializer()`. */
  aggregate<A>(
    initializer: () => A,
    aggregator: (key: K, value: V, aggregate: A) => A,
    materialized: Materialized<K, A> & { valueSerde: Materialized<K, A>['valueSerde'] & {} },
    named?: Named,
    operation = 'aggregate',
  ): KTable<K, A> {
    return this.materialize<A>(operation, materialized, named, (key, value, old) =>
      aggregator(key, value, old ?? initializer()),
    );
  }

  private materialize<A>(
    operation: string,
    materialized: Materialized<K, A>,
    named: Named | undefined,
    apply: (key: K, value: V, old: A | undefined) => A,
  ): KTable<K, A> {
    return aggregateTable<K, A>(this, operation, materialized, named, ({ storeName, foldingBound, keyId }) =>
      keyedAggregateSupplier<K, V, A>(storeName, apply, foldingBound, keyId),
    );
  }

  /** Cuts each key's records into sessions (`SessionWindows`) to aggregate per session. */
  windowedBy(windows: SessionWindows): SessionWindowedKStream<K, V>;
  /** Cuts each key's records into tumbling or hopping time windows (`TimeWindows`) to aggregate per window. */
  windowedBy(windows: TimeWindows): TimeWindowedKStream<K, V>;
  /** Cuts each key's records into sliding windows (`SlidingWindows`) to aggregate per window. */
  windowedBy(windows: SlidingWindows): TimeWindowedKStream<K, V>;
  windowedBy(
    windows: SessionWindows | TimeWindows | SlidingWindows,
  ): SessionWindowedKStream<K, V> | TimeWindowedKStream<K, V> {
    if (windows instanceof SessionWindows)
      return new SessionWindowedKStream<K, V>(this.graph, this.nodeName, this.serdes, windows);
    return new TimeWindowedKStream<K, V>(this.graph, this.nodeName, this.serdes, windows);
  }
}
