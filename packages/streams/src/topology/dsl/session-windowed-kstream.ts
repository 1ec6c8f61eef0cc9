// SessionWindowedKStream: a grouped stream cut into sessions per key, ready to aggregate per session.
import { keyValueStore, sessionStore } from '@eddy/state';
import { StreamsError } from '../../errors.js';
import { Serdes } from '../../serdes/serde.js';
import type { DslGraph } from './dsl-graph.js';
import { KTable } from './ktable.js';
import { foldingBound, type Materialized, storeOptions } from './materialized.js';
import type { Named } from './naming.js';
import { type DslSerde, type KnownSerdes, keyIdOf, requireSerde } from './serdes.js';
import { sessionAggregateSupplier, sessionValueGetter } from './session-aggregate.js';
import type { SessionWindows } from './session-windows.js';
import { markWindowedTable } from './suppress.js';
import type { Windowed } from './windowed.js';
import { WindowedSerdes } from './windowed-serdes.js';

/**
 * Aggregations per key and session. The result is a table keyed by `Windowed<K>` (session bounds, both inclusive),
 * materialized in a session store that keeps sessions for `Materialized.retentionMs` (default gap + grace) of
 * stream time, plus an index store `<store>-index` (see docs/session-windows-and-suppression.md). Records with a
 * null key or value are skipped.
 */
export class SessionWindowedKStream<K, V> {
  /** @internal */
  constructor(
    /** @internal */
    readonly graph: DslGraph,
    /** @internal */
    readonly nodeName: string,
    /** @internal */
    readonly serdes: KnownSerdes,
    readonly windows: SessionWindows,
  ) {}

  /** Counts the records of each session. */
  count(materialized: Materialized<K, number> = {}, named?: Named): KTable<Windowed<K>, number> {
    return this.aggregate<number>(
      () => 0,
      (_key, _value, n) => n + 1,
      (_key, a, b) => a + b,
      { ...materialized, valueSerde: materialized.valueSerde ?? Serdes.float64() },
      named,
      'session-count',
    );
  }

  /** Combines the values of each session with `reducer`; merging sessions combines their aggregates with it too. */
  reduce(
    reducer: (aggregate: V, value: V) => V,
    materialized: Materialized<K, V> = {},
    named?: Named,
  ): KTable<Windowed<K>, V> {
    // The first value of a session is its aggregate: absence is marked by a sentinel no user value can be.
    const none = Symbol('none') as unknown as V;
    const combine = (a: V, b: V) => (a === none ? b : b === none ? a : reducer(a, b));
    return this.aggregate<V>(
      () => none,
      (_key, value, agg) => combine(agg, value),
      (_key, a, b) => combine(a, b),
      {
        ...materialized,
        valueSerde: requireSerde<V>('session reduce (value)', materialized.valueSerde, this.serdes.value),
      },
      named,
      'session-reduce',
    );
  }

  /**
   * Folds the values of each session into an aggregate that starts at `initializer()`; when a record bridges two
   * sessions, `merger` combines their aggregates (older session first).
   */
  aggregate<A>(
    initializer: () => A,
    aggregator: (key: K, value: V, aggregate: A) => A,
    merger: (key: K, left: A, right: A) => A,
    materialized: Materialized<K, A> & { valueSerde: Materialized<K, A>['valueSerde'] & {} },
    named?: Named,
    operation = 'session-aggregate',
  ): KTable<Windowed<K>, A> {
    const { gapMs, graceMs } = this.windows;
    const keySerde = requireSerde<K>(`${operation} (key)`, materialized.keySerde, this.serdes.key);
    const valueSerde = requireSerde<A>(`${operation} (value)`, materialized.valueSerde);
    const retentionMs = materialized.retentionMs ?? gapMs + graceMs;
    if (!Number.isSafeInteger(retentionMs) || retentionMs < gapMs + graceMs) {
      throw new StreamsError(
        'INVALID_TOPOLOGY',
        `${operation}: retentionMs (${retentionMs}) must be an integer no smaller than gap + grace (${gapMs + graceMs})`,
      );
    }
    const m = materialized as Materialized<unknown, unknown>;
    const graph = this.graph;
    const node = graph.names.name(operation, [this.nodeName], named);
    const storeName = graph.storeName(node, materialized.name);
    const indexName = graph.names.claim(`${storeName}-index`);
    const windowedSerde = WindowedSerdes.sessionWindowed(keySerde) as DslSerde<Windowed<K>>;
    graph.topology.addProcessor(
      node,
      sessionAggregateSupplier<K, V, A>({
        windows: this.windows,
        retentionMs,
        storeName,
        indexName,
        initializer,
        aggregator,
        merger,
        foldingBound: foldingBound(m),
        keyBytes: (key) => Buffer.from(keySerde.serialize(key)),
        keyId: keyIdOf(windowedSerde),
      }),
      this.nodeName,
    );
    graph.addStore(
      sessionStore<K, A>({ ...storeOptions(storeName, m), keySerde, valueSerde, retentionMs }),
      node,
    );
    graph.addStore(
      // Read on every record: cached whatever the table's caching says (which decides how its changes are folded).
      keyValueStore<Buffer, Buffer>({
        ...storeOptions(indexName, m),
        caching: true,
        keySerde: Serdes.bytes(),
        valueSerde: Serdes.bytes(),
      }),
      node,
    );
    markWindowedTable(graph, node, gapMs + graceMs);
    return new KTable<Windowed<K>, A>(
      graph,
      node,
      { key: windowedSerde, value: valueSerde },
      sessionValueGetter<K, A>(storeName),
      storeName,
    );
  }
}
