// KGroupedTable: a table's values regrouped under new keys, ready to aggregate with an adder and a subtractor.
import { Serdes } from '../../serdes/serde.js';
import type { DslGraph } from './dsl-graph.js';
import type { KTable } from './ktable.js';
import type { Materialized } from './materialized.js';
import { aggregateTable } from './materialized-table.js';
import type { Named } from './naming.js';
import { type KnownSerdes, requireSerde } from './serdes.js';
import { type TableAggregator, tableAggregateSupplier } from './table-aggregate.js';

/**
 * Each change of the source table reaches its groups as the removal of its old value and the addition of its new
 * one; aggregations therefore take a subtractor besides the adder. A value that moves to another group is
 * subtracted from the old group's aggregate and added to the new one's.
 */
export class KGroupedTable<K, V> {
  /** @internal */
  constructor(
    /** @internal */
    readonly graph: DslGraph,
    /** @internal the repartition source whose records are the groups' changes. */
    readonly nodeName: string,
    /** @internal */
    readonly serdes: KnownSerdes,
  ) {}

  /** Counts the values per group; a group whose values all left keeps the count 0. */
  count(materialized: Materialized<K, number> = {}, named?: Named): KTable<K, number> {
    return this.aggregate<number>(
      () => 0,
      (_key, _value, n) => n + 1,
      (_key, _value, n) => n - 1,
      { ...materialized, valueSerde: materialized.valueSerde ?? Serdes.float64() },
      named,
      'count',
    );
  }

  /** Combines each group's values with `adder`; `subtractor` removes a value that left the group. */
  reduce(
    adder: (aggregate: V, value: V) => V,
    subtractor: (aggregate: V, value: V) => V,
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
      {
        add: (_key, value, aggregate) => (aggregate === undefined ? value : adder(aggregate, value)),
        subtract: (_key, value, aggregate) => subtractor(aggregate, value),
      },
    );
  }

  /** Folds each group's values into an aggregate that starts at `initializer()`. */
  aggregate<A>(
    initializer: () => A,
    adder: (key: K, value: V, aggregate: A) => A,
    subtractor: (key: K, value: V, aggregate: A) => A,
    materialized: Materialized<K, A> & { valueSerde: Materialized<K, A>['valueSerde'] & {} },
    named?: Named,
    operation = 'aggregate',
  ): KTable<K, A> {
    return this.materialize<A>(operation, materialized, named, {
      add: (key, value, aggregate) => adder(key, value, aggregate === undefined ? initializer() : aggregate),
      subtract: subtractor,
    });
  }

  private materialize<A>(
    operation: string,
    materialized: Materialized<K, A>,
    named: Named | undefined,
    aggregator: TableAggregator<K, V, A>,
  ): KTable<K, A> {
    return aggregateTable<K, A>(this, operation, materialized, named, (store) =>
      tableAggregateSupplier<K, V, A>(store, aggregator),
    );
  }
}
