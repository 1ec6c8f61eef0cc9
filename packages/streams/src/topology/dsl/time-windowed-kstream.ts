// TimeWindowedKStream: a grouped stream cut into time or sliding windows, ready to aggregate per key and window.
import { keyValueStore, type WindowStore, windowStore } from '@eddy/state';
import { StreamsError } from '../../errors.js';
import { Serdes } from '../../serdes/serde.js';
import type { DslGraph } from './dsl-graph.js';
import { KTable } from './ktable.js';
import { foldingBound, type Materialized, storeOptions } from './materialized.js';
import type { Named } from './naming.js';
import { type DslSerde, type KnownSerdes, keyIdOf, requireSerde } from './serdes.js';
import { slidingWindowAggregateSupplier, windowStartsSerde } from './sliding-window-aggregate.js';
import { SlidingWindows } from './sliding-windows.js';
import { markWindowedTable } from './suppress.js';
import { timeWindowAggregateSupplier } from './time-window-aggregate.js';
import type { TimeWindows } from './time-windows.js';
import { type ValueAndTimestamp, valueAndTimestampSerde } from './value-and-timestamp.js';
import type { ValueGetterSupplier } from './value-getter.js';
import type { Windowed } from './windowed.js';
import { WindowedSerdes } from './windowed-serdes.js';

/**
 * The results are tables keyed by `Windowed<K>` (the key and its window's bounds) that carry a windowed key serde
 * (`WindowedSerdes.timeWindowed`), so `toStream().to(topic)` needs no key serde. Their window store, named by
 * `Materialized.name`, holds a `ValueAndTimestamp` per key and window start (queryable by name), for
 * `Materialized.retentionMs` (default: window size + grace; sliding windows: 2 × time difference + grace; a shorter
 * one is INVALID_TOPOLOGY). Sliding windows also keep an index of each key's window starts in `<store>-index`.
 */
export class TimeWindowedKStream<K, V> {
  /** @internal */
  constructor(
    private readonly graph: DslGraph,
    private readonly nodeName: string,
    private readonly serdes: KnownSerdes,
    private readonly windows: TimeWindows | SlidingWindows,
  ) {}

  /** Counts records per key and window. */
  count(materialized: Materialized<K, number> = {}, named?: Named): KTable<Windowed<K>, number> {
    return this.aggregate<number>(
      () => 0,
      (_key, _value, n) => n + 1,
      { ...materialized, valueSerde: materialized.valueSerde ?? Serdes.float64() },
      named,
      'window-count',
    );
  }

  /** Combines the values of each key and window with `reducer`; a window's first value is its first aggregate. */
  reduce(
    reducer: (aggregate: V, value: V) => V,
    materialized: Materialized<K, V> = {},
    named?: Named,
  ): KTable<Windowed<K>, V> {
    const reduced = Symbol('no value yet');
    return this.materialize<V>(
      'window-reduce',
      {
        ...materialized,
        valueSerde: requireSerde<V>('reduce (value)', materialized.valueSerde, this.serdes.value),
      },
      named,
      () => reduced as V,
      (_key, value, old) => (old === (reduced as V) ? value : reducer(old, value)),
    );
  }

  /** Folds the values of each key and window into an aggregate that starts at `initializer()`. */
  aggregate<A>(
    initializer: () => A,
    aggregator: (key: K, value: V, aggregate: A) => A,
    materialized: Materialized<K, A> & { valueSerde: Materialized<K, A>['valueSerde'] & {} },
    named?: Named,
    operation = 'window-aggregate',
  ): KTable<Windowed<K>, A> {
    return this.materialize<A>(operation, materialized, named, initializer, aggregator);
  }

  private materialize<A>(
    operation: string,
    materialized: Materialized<K, A>,
    named: Named | undefined,
    initializer: () => A,
    aggregator: (key: K, value: V, aggregate: A) => A,
  ): KTable<Windowed<K>, A> {
    const keySerde = requireSerde<K>(`${operation} (key)`, materialized.keySerde, this.serdes.key);
    const valueSerde = requireSerde<A>(`${operation} (value)`, materialized.valueSerde);
    const m = materialized as Materialized<unknown, unknown>;
    const graph = this.graph;
    const windows = this.windows;
    const node = graph.names.name(operation, [this.nodeName], named);
    const storeName = graph.storeName(node, materialized.name);
    const sliding = windows instanceof SlidingWindows;
    const sizeMs = sliding ? windows.timeDifferenceMs : windows.sizeMs;
    const retentionMs = windowRetention(storeName, sliding ? 2 * sizeMs : sizeMs, windows.graceMs, m);
    const windowedKeySerde = WindowedSerdes.timeWindowed(keySerde, sizeMs) as DslSerde<Windowed<K>>;
    const keyId = keyIdOf(windowedKeySerde);
    if (sliding) {
      const indexName = graph.names.claim(`${storeName}-index`);
      graph.topology.addProcessor(
        node,
        slidingWindowAggregateSupplier<K, V, A>(
          storeName,
          indexName,
          windows,
          initializer,
          aggregator,
          foldingBound(m),
          keyId,
        ),
        this.nodeName,
      );
      graph.addStore(
        keyValueStore({ ...storeOptions(indexName, m), keySerde, valueSerde: windowStartsSerde }),
        node,
      );
    } else {
      graph.topology.addProcessor(
        node,
        timeWindowAggregateSupplier<K, V, A>(
          storeName,
          windows,
          (key, value, old) => aggregator(key, value, old === undefined ? initializer() : old),
          foldingBound(m),
          keyIdOf(keySerde),
        ),
        this.nodeName,
      );
    }
    graph.addStore(
      windowStore<K, ValueAndTimestamp<A>>({
        ...storeOptions(storeName, m),
        keySerde,
        valueSerde: valueAndTimestampSerde<A>(valueSerde),
        retentionMs,
        // As Kafka Streams' window stores: expired data is dropped a segment at a time, segments of at least a minute.
        segmentIntervalMs: Math.max(Math.floor(retentionMs / 2), 60_000),
      }),
      node,
    );
    markWindowedTable(graph, node, windows.graceMs);
    return new KTable<Windowed<K>, A>(
      graph,
      node,
      { key: windowedKeySerde, value: valueSerde },
      windowValueGetter<K, A>(storeName),
      storeName,
    );
  }
}

/** The store's retention: `Materialized.retentionMs` or `minimumMs + graceMs`, never less than that. */
function windowRetention(
  storeName: string,
  minimumMs: number,
  graceMs: number,
  materialized: Materialized<unknown, unknown>,
): number {
  const needed = minimumMs + graceMs;
  const retentionMs = materialized.retentionMs ?? needed;
  if (!Number.isSafeInteger(retentionMs) || retentionMs < needed) {
    throw new StreamsError(
      'INVALID_TOPOLOGY',
      `the retention of window store "${storeName}" (${retentionMs} ms) must be an integer of at least ${needed} ms ` +
        '(the window size plus the grace period; for sliding windows twice the time difference plus the grace period)',
    );
  }
  // The store rejects a retention of 0 (sliding windows with no difference and no grace): keep one ms.
  return Math.max(1, retentionMs);
}

/** @internal how a table keyed by windows reads a key's value in one window. */
function windowValueGetter<K, A>(storeName: string): ValueGetterSupplier<Windowed<K>, A> {
  return {
    storeNames: [storeName],
    create(ctx) {
      const store = ctx.getStateStore<WindowStore<K, ValueAndTimestamp<A>>>(storeName);
      return (windowed) => store.fetch(windowed.key, windowed.window.start);
    },
  };
}
