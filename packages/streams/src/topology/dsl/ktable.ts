// KTable: the latest value per key, and the stream of its changes.
import type { Processor } from '../processor.js';
import type { Change } from './change.js';
import type { DslGraph } from './dsl-graph.js';
import { type ForeignKeyJoined, foreignKeyJoin } from './foreign-key-join/foreign-key-join.js';
import type { ValueJoiner } from './joins/join-options.js';
import { tableJoin } from './joins/table-joins.js';
import type { KGroupedTable } from './kgrouped-table.js';
import { type Grouped, KStream } from './kstream.js';
import type { Materialized } from './materialized.js';
import type { Named } from './naming.js';
import type { KnownSerdes } from './serdes.js';
import { suppressTable } from './suppress.js';
import type { Suppressed } from './suppressed.js';
import { type GroupSelector, groupTable } from './table-group-by.js';
import { transformTable } from './table-transform.js';
import type { ValueGetterSupplier } from './value-getter.js';

/**
 * A table: the latest value per key. Its node forwards `Change`s (new and old value); `toStream()` turns them into
 * a stream of new values (null where a key was deleted).
 */
export class KTable<K, V> {
  /** @internal */
  constructor(
    /** @internal */
    readonly graph: DslGraph,
    /** The node whose output is the table's changes. */
    readonly nodeName: string,
    /** @internal */
    readonly serdes: KnownSerdes,
    /** @internal how joins and derived tables read the current value of a key; undefined: not readable yet. */
    readonly valueGetter: ValueGetterSupplier<K, V> | undefined,
    /** The store that holds the table, when it is materialized (queryable by this name). */
    readonly storeName: string | undefined,
  ) {}

  /** The table's changes as a stream of new values; a deleted key gives a record with a null value. */
  toStream(named?: Named): KStream<K, V | null> {
    const node = this.graph.processor<K, Change<V>, K, V | null>(
      'totable-stream',
      [this.nodeName],
      named,
      (): Processor<K, Change<V>, K, V | null> => {
        let forward: (r: {
          key: K;
          value: V | null;
          timestamp: number;
          headers: Record<string, Buffer>;
        }) => void;
        return {
          init: (ctx) => {
            forward = (r) => ctx.forward(r);
          },
          process: (r) =>
            forward({ key: r.key, value: r.value.newValue, timestamp: r.timestamp, headers: r.headers }),
        };
      },
    );
    return new KStream<K, V | null>(this.graph, node, this.serdes, false);
  }

  /**
   * The rows for which `predicate` is true. An update whose new value no longer passes deletes the key from the
   * result (a change with a null new value). With `materialized` the result has a store of its own (queryable,
   * with caching); without, nothing is stored and readers (joins) apply the predicate to this table's value.
   */
  filter(
    predicate: (key: K, value: V) => boolean,
    materialized?: Materialized<K, V>,
    named?: Named,
  ): KTable<K, V> {
    return this.filtered('filter', predicate, materialized, named);
  }

  /** The rows for which `predicate` is false; otherwise as `filter`. */
  filterNot(
    predicate: (key: K, value: V) => boolean,
    materialized?: Materialized<K, V>,
    named?: Named,
  ): KTable<K, V> {
    return this.filtered('filternot', (key, value) => !predicate(key, value), materialized, named);
  }

  /**
   * Each row's value mapped by `fn` (a null result deletes the key from the result). With `materialized` (give its
   * `valueSerde`) the result has a store of its own; without, readers (joins) apply `fn` to this table's value.
   */
  mapValues<VR>(
    fn: (value: V, key: K) => VR | null,
    materialized?: Materialized<K, NonNullable<VR>>,
    named?: Named,
  ): KTable<K, NonNullable<VR>> {
    return transformTable<K, V, NonNullable<VR>>(this, {
      operation: 'mapvalues',
      compute: (key, value) => fn(value, key) as NonNullable<VR> | null,
      materialized,
      named,
      valueSerde: undefined,
    });
  }

  /**
   * Regroups the rows under the key and value `selector` picks, for `count`, `reduce` or `aggregate` with a
   * subtractor. Changes go through a repartition topic (`grouped.name`, else derived); `grouped` gives the serdes
   * of the new key and value.
   */
  groupBy<KR, VR>(
    selector: GroupSelector<K, V, KR, VR>,
    grouped: Grouped<NonNullable<KR>, NonNullable<VR>> = {},
  ): KGroupedTable<NonNullable<KR>, NonNullable<VR>> {
    return groupTable(this, selector, grouped);
  }

  private filtered(
    operation: string,
    keep: (key: K, value: V) => boolean,
    materialized: Materialized<K, V> | undefined,
    named: Named | undefined,
  ): KTable<K, V> {
    return transformTable<K, V, V>(this, {
      operation,
      compute: (key, value) => (keep(key, value) ? value : null),
      materialized,
      named,
      valueSerde: this.serdes.value,
    }) as KTable<K, V>;
  }

  /**
   * Foreign-key join: joins each row with the row of `other` whose key `foreignKeyExtractor` takes from the row's
   * value. The result has this table's keys and `joiner`'s values, for rows whose foreign key has a match; updates of
   * either side update it, and a row that loses its match is deleted from it. Rows without a foreign key (null) do
   * not join. The result is materialized in `options.materialized`, which needs a value serde.
   */
  join<KO, VO, VR>(
    other: KTable<KO, VO>,
    foreignKeyExtractor: (value: V, key: K) => KO | null | undefined,
    joiner: (value: V, otherValue: VO) => VR,
    options?: ForeignKeyJoined<K, NoInfer<VR>>,
  ): KTable<K, VR>;
  /**
   * Inner join with another table on the key: a change on either side emits the change of `joiner(left, right)`
   * while both sides have a value (a deletion on either side deletes the result). Materialized in a store when
   * `materialized` is given.
   */
  join<VO, VR>(
    other: KTable<K, VO>,
    joiner: ValueJoiner<K, V, VO, VR>,
    named?: Named,
    materialized?: Materialized<K, VR>,
  ): KTable<K, VR>;
  join(...args: unknown[]): unknown {
    if (isForeignKeyJoin(args)) return this.foreignKeyJoin(args, false);
    return tableJoin(this, 'join', args);
  }

  /** Foreign-key left join: as the foreign-key `join`, but every row has a result (other value null if absent). */
  leftJoin<KO, VO, VR>(
    other: KTable<KO, VO>,
    foreignKeyExtractor: (value: V, key: K) => KO | null | undefined,
    joiner: (value: V, otherValue: VO | null) => VR,
    options?: ForeignKeyJoined<K, NoInfer<VR>>,
  ): KTable<K, VR>;
  /** Left join with another table: a result exists while the left side has a value (right: null if absent). */
  leftJoin<VO, VR>(
    other: KTable<K, VO>,
    joiner: ValueJoiner<K, V, VO | null, VR>,
    named?: Named,
    materialized?: Materialized<K, VR>,
  ): KTable<K, VR>;
  leftJoin(...args: unknown[]): unknown {
    if (isForeignKeyJoin(args)) return this.foreignKeyJoin(args, true);
    return tableJoin(this, 'leftjoin', args);
  }

  /** Outer join with another table: a result exists while either side has a value (the other: null if absent). */
  outerJoin<VO, VR>(
    other: KTable<K, VO>,
    joiner: ValueJoiner<K, V | null, VO | null, VR>,
    named?: Named,
    materialized?: Materialized<K, VR>,
  ): KTable<K, VR>;
  outerJoin(...args: unknown[]): unknown {
    return tableJoin(this, 'outerjoin', args);
  }

  /**
   * Holds the table's changes back and forwards them later, per `suppressed`: only each window's final result once
   * it closes (`Suppressed.untilWindowCloses`), or a key's latest change once it has waited a time limit
   * (`Suppressed.untilTimeLimit`). Time is stream time. The buffer lives in a logged store named `<node>-store`.
   */
  suppress(suppressed: Suppressed<K>): KTable<K, V> {
    return suppressTable(this, suppressed);
  }

  private foreignKeyJoin(args: ForeignKeyJoinArgs, left: boolean): KTable<K, unknown> {
    const [other, extractor, joiner, options] = args;
    return foreignKeyJoin<K, V, unknown, unknown, unknown>(
      this,
      other,
      extractor as (value: V, key: K) => unknown,
      joiner as (value: V, otherValue: unknown) => unknown,
      (options ?? {}) as ForeignKeyJoined<K, unknown>,
      left,
    );
  }
}

type ForeignKeyJoinArgs = [
  KTable<unknown, unknown>,
  (value: unknown, key: unknown) => unknown,
  (value: unknown, otherValue: unknown) => unknown,
  ForeignKeyJoined<unknown, unknown> | undefined,
];

/** A foreign-key join passes two functions (extractor, joiner); a key join passes the joiner, then options. */
function isForeignKeyJoin(args: unknown[]): args is ForeignKeyJoinArgs {
  return typeof args[1] === 'function' && typeof args[2] === 'function';
}
