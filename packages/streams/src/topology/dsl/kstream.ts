// KStream: a stream of records and its operations; operations that may change the key mark the stream, and the
// first grouping or join after such a change sends the records through a repartition topic.

import type { Serializer } from '../../serdes/serde.js';
import type { Processor, ProcessorSupplier, StreamRecord, TopicNameExtractor } from '../processor.js';
import { BranchedKStream, type NamedBranch } from './branched-kstream.js';
import type { DslGraph } from './dsl-graph.js';
import { joinGlobal } from './global-join.js';
import { GlobalKTable } from './global-ktable.js';
import type { Joined, StreamJoined, ValueJoiner } from './joins/join-options.js';
import type { JoinWindows } from './joins/join-windows.js';
import { streamJoin } from './joins/stream-joins.js';
import { KGroupedStream } from './kgrouped-stream.js';
import type { KTable } from './ktable.js';
import type { Materialized } from './materialized.js';
import { materializedTable } from './materialized-table.js';
import type { Named } from './naming.js';
import { addRepartition } from './repartition.js';
import { type DslSerde, type KnownSerdes, requireSerde } from './serdes.js';
import { tableSourceSupplier } from './table-source.js';

/** How a sink writes keys and values (any serializer fits). */
export interface Produced<K, V> {
  keySerde: Serializer<K>;
  valueSerde: Serializer<V>;
}

/** How a grouping names its repartition topic and which serdes write it (default: the stream's own). */
export interface Grouped<K, V> extends Named {
  keySerde?: DslSerde<K>;
  valueSerde?: DslSerde<V>;
}

/** Options of an explicit `repartition()`. */
export interface Repartitioned<K, V> extends Named {
  /** Default: the largest partition count among the inputs of the subtopology that writes it. */
  numberOfPartitions?: number;
  keySerde?: DslSerde<K>;
  valueSerde?: DslSerde<V>;
}

/** One branch of `split()`: records the predicate accepts (and no earlier branch took). */
export interface Branch<K, V> extends Named {
  predicate: (key: K, value: V) => boolean;
}

type Emit<K, V> = (out: StreamRecord<K, V>) => void;

/** A stateless transformation that emits zero or more records per input record. */
function statelessSupplier<K, V, KR, VR>(
  apply: (record: StreamRecord<K, V>, emit: Emit<KR, VR>) => void,
): ProcessorSupplier<K, V, KR, VR> {
  return () => {
    let emit: Emit<KR, VR>;
    return {
      init(context) {
        emit = (out) => context.forward(out);
      },
      process(record) {
        apply(record, emit);
      },
    } satisfies Processor<K, V, KR, VR>;
  };
}

export class KStream<K, V> {
  /** Set by the first grouping or join that needed this stream partitioned by its key. */
  private repartitioned: KStream<K, V> | undefined;

  /** @internal */
  constructor(
    /** @internal */
    readonly graph: DslGraph,
    /** The name of the node this stream comes out of. */
    readonly nodeName: string,
    /** @internal */
    readonly serdes: KnownSerdes,
    /** @internal true when an operation since the last repartition may have changed the key. */
    readonly keyChanged: boolean,
  ) {}

  /** Gives each record a new key; a later grouping or join repartitions by it. */
  selectKey<KR>(fn: (key: K, value: V) => KR, named?: Named): KStream<KR, V> {
    return this.stateless<KR, V>(
      'selectkey',
      named,
      { key: undefined, value: this.serdes.value },
      true,
      (r, emit) => emit({ ...r, key: fn(r.key, r.value) }),
    );
  }

  /** Replaces key and value; a later grouping or join repartitions by the new key. */
  map<KR, VR>(fn: (key: K, value: V) => [KR, VR], named?: Named): KStream<KR, VR> {
    return this.stateless<KR, VR>('map', named, { key: undefined, value: undefined }, true, (r, emit) => {
      const [key, value] = fn(r.key, r.value);
      emit({ ...r, key, value });
    });
  }

  /** Replaces each record with zero or more records; a later grouping or join repartitions by their keys. */
  flatMap<KR, VR>(fn: (key: K, value: V) => Iterable<[KR, VR]>, named?: Named): KStream<KR, VR> {
    return this.stateless<KR, VR>('flatmap', named, { key: undefined, value: undefined }, true, (r, emit) => {
      for (const [key, value] of fn(r.key, r.value)) emit({ ...r, key, value });
    });
  }

  mapValues<VR>(fn: (value: V, key: K) => VR, named?: Named): KStream<K, VR> {
    return this.stateless<K, VR>(
      'mapvalues',
      named,
      { key: this.serdes.key, value: undefined },
      this.keyChanged,
      (r, emit) => emit({ ...r, value: fn(r.value, r.key) }),
    );
  }

  /** Replaces each record with zero or more values under the same key. */
  flatMapValues<VR>(fn: (value: V, key: K) => Iterable<VR>, named?: Named): KStream<K, VR> {
    return this.stateless<K, VR>(
      'flatmapvalues',
      named,
      { key: this.serdes.key, value: undefined },
      this.keyChanged,
      (r, emit) => {
        for (const value of fn(r.value, r.key)) emit({ ...r, value });
      },
    );
  }

  /** Keeps the records for which `predicate` is true. */
  filter(predicate: (key: K, value: V) => boolean, named?: Named): KStream<K, V> {
    return this.stateless<K, V>('filter', named, this.serdes, this.keyChanged, (r, emit) => {
      if (predicate(r.key, r.value)) emit(r);
    });
  }

  /** Drops the records for which `predicate` is true. */
  filterNot(predicate: (key: K, value: V) => boolean, named?: Named): KStream<K, V> {
    return this.stateless<K, V>('filternot', named, this.serdes, this.keyChanged, (r, emit) => {
      if (!predicate(r.key, r.value)) emit(r);
    });
  }

  /** Calls `fn` for each record and passes the record on unchanged. */
  peek(fn: (key: K, value: V) => void, named?: Named): KStream<K, V> {
    return this.stateless<K, V>('peek', named, this.serdes, this.keyChanged, (r, emit) => {
      fn(r.key, r.value);
      emit(r);
    });
  }

  /** Calls `fn` for each record; the end of this branch of the topology. */
  foreach(fn: (key: K, value: V) => void, named?: Named): void {
    this.stateless<K, V>('foreach', named, this.serdes, this.keyChanged, (r) => fn(r.key, r.value));
  }

  /**
   * Sends each record to the first branch whose predicate accepts it, else to the default branch (if any). The
   * result maps `<prefix><branch name>` to each branch's stream (default branch: `<prefix>default`, or its name);
   * the prefix is `options.name`, else the split's derived node name and `-`, and an unnamed branch is named by its
   * position from 1. Without `branches`, returns a `BranchedKStream` to add branches one by one
   * (`.branch(predicate, { name? })`), ended by `.defaultBranch({ name? })` or `.noDefaultBranch()`.
   */
  split(
    branches: Branch<K, V>[],
    options?: Named & { defaultBranch?: boolean | Named },
  ): Record<string, KStream<K, V>>;
  split(options?: Named): BranchedKStream<K, V>;
  split(
    branchesOrOptions: Branch<K, V>[] | Named = {},
    options: Named & { defaultBranch?: boolean | Named } = {},
  ): Record<string, KStream<K, V>> | BranchedKStream<K, V> {
    const named = Array.isArray(branchesOrOptions) ? options : branchesOrOptions;
    const splitNode = this.graph.names.name('split', [this.nodeName], named);
    const branched = new BranchedKStream<K, V>(this, splitNode, named.name ?? `${splitNode}-`);
    if (!Array.isArray(branchesOrOptions)) return branched;
    for (const b of branchesOrOptions) branched.branch(b.predicate, b);
    const { defaultBranch } = options;
    if (defaultBranch === undefined || defaultBranch === false) return branched.noDefaultBranch();
    return branched.defaultBranch(defaultBranch === true ? {} : defaultBranch);
  }

  /** @internal Adds the split node `splitNode` routing to `branches` (names already claimed), then `defaultName`. */
  addSplit(
    splitNode: string,
    branches: readonly NamedBranch<K, V>[],
    defaultName: string | undefined,
  ): Record<string, KStream<K, V>> {
    const names = branches.map((b) => b.name);
    const predicates = branches.map((b) => b.predicate);
    this.graph.topology.addProcessor<K, V, K, V>(
      splitNode,
      () => {
        let forward: (r: StreamRecord<K, V>, child: string) => void;
        return {
          init: (ctx) => {
            forward = (r, child) => ctx.forward(r, child);
          },
          process: (r) => {
            for (let i = 0; i < predicates.length; i++) {
              if (predicates[i]!(r.key, r.value)) return forward(r, names[i]!);
            }
            if (defaultName !== undefined) forward(r, defaultName);
          },
        };
      },
      this.nodeName,
    );
    const out: Record<string, KStream<K, V>> = {};
    for (const name of defaultName === undefined ? names : [...names, defaultName]) {
      this.graph.topology.addProcessor(
        name,
        statelessSupplier<K, V, K, V>((r, emit) => emit(r)),
        splitNode,
      );
      out[name] = new KStream<K, V>(this.graph, name, this.serdes, this.keyChanged);
    }
    return out;
  }

  /** The records of both streams, in the order they are processed. */
  merge(other: KStream<K, V>, named?: Named): KStream<K, V> {
    const serdes = {
      key: this.serdes.key ?? other.serdes.key,
      value: this.serdes.value ?? other.serdes.value,
    };
    const node = this.graph.processor<K, V, K, V>(
      'merge',
      [this.nodeName, other.nodeName],
      named,
      statelessSupplier<K, V, K, V>((r, emit) => emit(r)),
    );
    return new KStream<K, V>(this.graph, node, serdes, this.keyChanged || other.keyChanged);
  }

  /** Sends the records through a repartition topic of their own (partitioned by key), e.g. to change parallelism. */
  repartition(options: Repartitioned<K, V> = {}): KStream<K, V> {
    const base = this.graph.names.name('repartition', [this.nodeName], options);
    const keySerde = requireSerde<K>(`repartition "${base}" (key)`, options.keySerde, this.serdes.key);
    const valueSerde = requireSerde<V>(
      `repartition "${base}" (value)`,
      options.valueSerde,
      this.serdes.value,
    );
    const source = addRepartition(this.graph, this.nodeName, {
      base,
      keySerde,
      valueSerde,
      ...(options.numberOfPartitions === undefined ? {} : { partitions: options.numberOfPartitions }),
    });
    return new KStream<K, V>(this.graph, source, { key: keySerde, value: valueSerde }, false);
  }

  /**
   * Groups the stream by its current key for an aggregation; after a key change the records first go through a
   * repartition topic named by `grouped.name` (default: derived from this stream's node).
   */
  groupByKey(
    grouped: Grouped<NonNullable<K>, NonNullable<V>> = {},
  ): KGroupedStream<NonNullable<K>, NonNullable<V>> {
    const stream = this.partitionedByKey(grouped);
    return new KGroupedStream(this.graph, stream.nodeName, {
      key: grouped.keySerde ?? stream.serdes.key,
      value: grouped.valueSerde ?? stream.serdes.value,
    });
  }

  /** Groups the stream by a new key; the records go through a repartition topic. */
  groupBy<KR>(
    selector: (key: K, value: V) => KR,
    grouped: Grouped<NonNullable<KR>, NonNullable<V>> = {},
  ): KGroupedStream<NonNullable<KR>, NonNullable<V>> {
    const rekeyed = this.selectKey(
      selector,
      grouped.name === undefined ? undefined : { name: `${grouped.name}-selectkey` },
    );
    return rekeyed.groupByKey(grouped as Grouped<NonNullable<KR>, NonNullable<V>>);
  }

  /** A table of the latest value per key (a null value deletes the key); repartitions first after a key change. */
  toTable(
    materialized: Materialized<NonNullable<K>, NonNullable<V>> = {},
    named?: Named,
  ): KTable<NonNullable<K>, NonNullable<V>> {
    const stream = this.partitionedByKey({
      ...(named?.name === undefined ? {} : { name: named.name }),
      ...(materialized.keySerde === undefined ? {} : { keySerde: materialized.keySerde as DslSerde<K> }),
      ...(materialized.valueSerde === undefined
        ? {}
        : { valueSerde: materialized.valueSerde as DslSerde<V> }),
    });
    const keySerde = requireSerde<NonNullable<K>>('toTable (key)', materialized.keySerde, stream.serdes.key);
    const valueSerde = requireSerde<NonNullable<V>>(
      'toTable (value)',
      materialized.valueSerde,
      stream.serdes.value,
    );
    return materializedTable(this.graph, {
      parent: stream.nodeName,
      node: this.graph.names.name('totable', [stream.nodeName], named),
      keySerde,
      valueSerde,
      materialized,
      supplier: ({ storeName, foldingBound, keyId }) =>
        tableSourceSupplier<NonNullable<K>, NonNullable<V>>(storeName, foldingBound, keyId),
    });
  }

  /** Runs a custom processor (Processor API) on this stream; its output may have any key. */
  process<KR, VR>(
    supplier: ProcessorSupplier<K, V, KR, VR>,
    named?: Named,
    ...stores: string[]
  ): KStream<KR, VR> {
    const node = this.graph.processor('process', [this.nodeName], named, supplier);
    if (stores.length > 0) this.graph.topology.connectProcessorAndStateStores([node], ...stores);
    return new KStream<KR, VR>(this.graph, node, { key: undefined, value: undefined }, true);
  }

  /** Writes the stream to a topic, or to a topic chosen per record. */
  to(topic: string | TopicNameExtractor<K, V>, produced: Produced<K, V> & Named): void {
    const name = this.graph.names.name('sink', [this.nodeName], produced);
    this.graph.topology.addSink(
      name,
      { topic, keySerde: produced.keySerde, valueSerde: produced.valueSerde },
      this.nodeName,
    );
  }

  /**
   * @internal this stream when its records are partitioned by key; after a key change, the stream read back from a
   * repartition topic, added once per stream however many groupings and joins use it.
   */
  partitionedByKey(grouped: Grouped<K, V>): KStream<K, V> {
    if (!this.keyChanged) return this;
    if (this.repartitioned !== undefined) return this.repartitioned;
    const base = grouped.name ?? this.graph.names.name('repartition', [this.nodeName], undefined);
    const keySerde = requireSerde<K>(
      `the repartition topic "${base}" (key)`,
      grouped.keySerde,
      this.serdes.key,
    );
    const valueSerde = requireSerde<V>(
      `the repartition topic "${base}" (value)`,
      grouped.valueSerde,
      this.serdes.value,
    );
    const source = addRepartition(this.graph, this.nodeName, { base, keySerde, valueSerde });
    this.repartitioned = new KStream<K, V>(this.graph, source, { key: keySerde, value: valueSerde }, false);
    return this.repartitioned;
  }

  private stateless<KR, VR>(
    operation: string,
    named: Named | undefined,
    serdes: KnownSerdes,
    keyChanged: boolean,
    apply: (record: StreamRecord<K, V>, emit: Emit<KR, VR>) => void,
  ): KStream<KR, VR> {
    const node = this.graph.processor(operation, [this.nodeName], named, statelessSupplier(apply));
    return new KStream<KR, VR>(this.graph, node, serdes, keyChanged);
  }

  /**
   * Joins each record with the value a global table holds for the key `keySelector` picks from it: no
   * repartitioning, and the record keeps its key. Records with a null value, a null selected key or no match are
   * dropped.
   */
  join<GK, GV, VR>(
    table: GlobalKTable<GK, GV>,
    keySelector: (key: K, value: NonNullable<V>) => GK | null | undefined,
    joiner: (value: NonNullable<V>, globalValue: GV) => VR,
    named?: Named,
  ): KStream<K, VR>;
  /**
   * Inner join. With a stream: records of the same key whose timestamps fit `windows` join (each match emits, at
   * the later of the two timestamps). With a table: each record joins the table's current value of its key; a
   * record without one is dropped, and table updates emit nothing. Both inputs are repartitioned first after a key
   * change, and must have the same partition count.
   */
  join<VO, VR>(
    other: KStream<K, VO>,
    joiner: ValueJoiner<K, NonNullable<V>, NonNullable<VO>, VR>,
    windows: JoinWindows,
    options?: StreamJoined<K, V, VO>,
  ): KStream<K, VR>;
  join<VT, VR>(
    table: KTable<NonNullable<K>, VT>,
    joiner: ValueJoiner<K, NonNullable<V>, VT, VR>,
    joined?: Joined<K, V>,
  ): KStream<K, VR>;
  join(...args: unknown[]): unknown {
    if (args[0] instanceof GlobalKTable) return this.globalJoin(args, false);
    return streamJoin(this, 'join', args);
  }

  /**
   * Left join with a global table: a record whose selected key is null or not in the table is joined with null
   * instead of dropped; records with a null value are still dropped.
   */
  leftJoin<GK, GV, VR>(
    table: GlobalKTable<GK, GV>,
    keySelector: (key: K, value: NonNullable<V>) => GK | null | undefined,
    joiner: (value: NonNullable<V>, globalValue: GV | null) => VR,
    named?: Named,
  ): KStream<K, VR>;
  /**
   * Left join: like `join`, and a left record that never joins emits `joiner(value, null)` — with a stream, once its
   * window has closed (stream time past its timestamp + after + grace); with a table, at once.
   */
  leftJoin<VO, VR>(
    other: KStream<K, VO>,
    joiner: ValueJoiner<K, NonNullable<V>, NonNullable<VO> | null, VR>,
    windows: JoinWindows,
    options?: StreamJoined<K, V, VO>,
  ): KStream<K, VR>;
  leftJoin<VT, VR>(
    table: KTable<NonNullable<K>, VT>,
    joiner: ValueJoiner<K, NonNullable<V>, VT | null, VR>,
    joined?: Joined<K, V>,
  ): KStream<K, VR>;
  leftJoin(...args: unknown[]): unknown {
    if (args[0] instanceof GlobalKTable) return this.globalJoin(args, true);
    return streamJoin(this, 'leftjoin', args);
  }

  /** Outer join of two streams: like `leftJoin`, and a right record that never joins emits `joiner(null, value)`. */
  outerJoin<VO, VR>(
    other: KStream<K, VO>,
    joiner: ValueJoiner<K, NonNullable<V> | null, NonNullable<VO> | null, VR>,
    windows: JoinWindows,
    options?: StreamJoined<K, V, VO>,
  ): KStream<K, VR>;
  outerJoin(...args: unknown[]): unknown {
    return streamJoin(this, 'outerjoin', args);
  }

  private globalJoin(args: unknown[], left: boolean): KStream<K, unknown> {
    const [table, keySelector, joiner, named] = args as [
      GlobalKTable<unknown, unknown>,
      (key: K, value: NonNullable<V>) => unknown,
      (value: NonNullable<V>, globalValue: unknown) => unknown,
      Named | undefined,
    ];
    const node = joinGlobal<K, V, unknown, unknown, unknown>(this, table, keySelector, joiner, {
      left,
      named,
    });
    return new KStream<K, unknown>(
      this.graph,
      node,
      { key: this.serdes.key, value: undefined },
      this.keyChanged,
    );
  }
}
