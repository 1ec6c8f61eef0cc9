// The DSL: StreamsBuilder and KStream, which add named nodes to a Topology.
import { type KeyValueStore, keyValueStore } from '@eddy/state';
import { type Deserializer, Serdes, type Serializer, type StoreSerde } from '../serdes/serde.js';
import type {
  Processor,
  ProcessorContext,
  ProcessorSupplier,
  StreamRecord,
  TimestampExtractor,
  TopicNameExtractor,
} from './processor.js';
import { Topology } from './topology.js';

/** How a source reads keys and values (any serde fits). */
export interface Consumed<K, V> {
  keySerde: Deserializer<K>;
  valueSerde: Deserializer<V>;
  timestampExtractor?: TimestampExtractor;
}

/** How a sink writes keys and values (any serde fits). */
export interface Produced<K, V> {
  keySerde: Serializer<K>;
  valueSerde: Serializer<V>;
}

/** An optional explicit node name; without one the builder generates a stable name from the operation. */
export interface Named {
  name?: string;
}

export class StreamsBuilder {
  private readonly topology = new Topology();
  private counter = 0;

  /** A stream of the records of one or more topics. */
  stream<K, V>(topics: string | string[], consumed: Consumed<K, V> & Named): KStream<K, V> {
    const name = consumed.name ?? this.nextName('SOURCE');
    this.topology.addSource(name, { topics: Array.isArray(topics) ? topics : [topics], ...consumed });
    return new KStream<K, V>(this, name);
  }

  build(): Topology {
    return this.topology;
  }

  /** @internal */
  nextName(operation: string): string {
    return `KSTREAM-${operation}-${String(this.counter++).padStart(10, '0')}`;
  }

  /** @internal */
  get graph(): Topology {
    return this.topology;
  }
}

/** A stateless transformation that emits zero or more records per input record. */
function statelessSupplier<K, V, KR, VR>(
  apply: (record: StreamRecord<K, V>, emit: (out: StreamRecord<KR, VR>) => void) => void,
): ProcessorSupplier<K, V, KR, VR> {
  return () => {
    let emit: (out: StreamRecord<KR, VR>) => void;
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
  constructor(
    private readonly builder: StreamsBuilder,
    /** The name of the node this stream comes out of. */
    readonly nodeName: string,
  ) {}

  /** Replaces key and value. */
  map<KR, VR>(fn: (key: K, value: V) => [KR, VR], named: Named = {}): KStream<KR, VR> {
    return this.stateless<KR, VR>('MAP', named, (r, emit) => {
      const [key, value] = fn(r.key, r.value);
      emit({ ...r, key, value });
    });
  }

  mapValues<VR>(fn: (value: V, key: K) => VR, named: Named = {}): KStream<K, VR> {
    return this.stateless<K, VR>('MAPVALUES', named, (r, emit) => emit({ ...r, value: fn(r.value, r.key) }));
  }

  /** Replaces each record with zero or more values under the same key. */
  flatMapValues<VR>(fn: (value: V, key: K) => Iterable<VR>, named: Named = {}): KStream<K, VR> {
    return this.stateless<K, VR>('FLATMAPVALUES', named, (r, emit) => {
      for (const value of fn(r.value, r.key)) emit({ ...r, value });
    });
  }

  /** Keeps the records for which `predicate` is true. */
  filter(predicate: (key: K, value: V) => boolean, named: Named = {}): KStream<K, V> {
    return this.stateless<K, V>('FILTER', named, (r, emit) => {
      if (predicate(r.key, r.value)) emit(r);
    });
  }

  /** Drops the records for which `predicate` is true. */
  filterNot(predicate: (key: K, value: V) => boolean, named: Named = {}): KStream<K, V> {
    return this.filter((k, v) => !predicate(k, v), named);
  }

  /** Calls `fn` for each record and passes the record on unchanged. */
  peek(fn: (key: K, value: V) => void, named: Named = {}): KStream<K, V> {
    return this.stateless<K, V>('PEEK', named, (r, emit) => {
      fn(r.key, r.value);
      emit(r);
    });
  }

  /**
   * Groups the stream by its current key for an aggregation. The records must already be partitioned by that key
   * (keys were not changed since the source, or were written to a topic partitioned by them and read back).
   */
  groupByKey(grouped: {
    keySerde: StoreSerde<NonNullable<K>>;
  }): KGroupedStream<NonNullable<K>, NonNullable<V>> {
    return new KGroupedStream(this.builder, this.nodeName, grouped.keySerde);
  }

  /** Runs a custom processor (Processor API) on this stream. */
  process<KR, VR>(supplier: ProcessorSupplier<K, V, KR, VR>, named: Named = {}): KStream<KR, VR> {
    const name = named.name ?? this.builder.nextName('PROCESSOR');
    this.builder.graph.addProcessor(name, supplier, this.nodeName);
    return new KStream<KR, VR>(this.builder, name);
  }

  /** Writes the stream to a topic, or to a topic chosen per record. */
  to(topic: string | TopicNameExtractor<K, V>, produced: Produced<K, V> & Named): void {
    const name = produced.name ?? this.builder.nextName('SINK');
    this.builder.graph.addSink(
      name,
      { topic, keySerde: produced.keySerde, valueSerde: produced.valueSerde },
      this.nodeName,
    );
  }

  private stateless<KR, VR>(
    operation: string,
    named: Named,
    apply: (record: StreamRecord<K, V>, emit: (out: StreamRecord<KR, VR>) => void) => void,
  ): KStream<KR, VR> {
    const name = named.name ?? this.builder.nextName(operation);
    this.builder.graph.addProcessor(name, statelessSupplier(apply), this.nodeName);
    return new KStream<KR, VR>(this.builder, name);
  }
}

/** Where an aggregation keeps its state: a named key-value store and its options. */
export interface Materialized<V> {
  /** Store name; it also names the changelog topic `<applicationId>-<name>-changelog`, so name it. */
  name?: string;
  valueSerde: StoreSerde<V>;
  /** LevelDB (default) or in-memory. */
  persistent?: boolean;
  caching?: boolean;
  logging?: boolean;
  cacheMaxBytes?: number;
}

/** A stream grouped by its key, ready to aggregate. Records with a null key or value are skipped. */
export class KGroupedStream<K, V> {
  constructor(
    private readonly builder: StreamsBuilder,
    private readonly parent: string,
    private readonly keySerde: StoreSerde<K>,
  ) {}

  /** Counts records per key. */
  count(materialized: Partial<Materialized<number>> = {}): KTable<K, number> {
    return this.aggregate<number>(
      () => 0,
      (_key, _value, n) => n + 1,
      { ...materialized, valueSerde: materialized.valueSerde ?? Serdes.float64() },
      'COUNT',
    );
  }

  /** Combines the values of each key with `reducer`; the first value of a key is its first aggregate. */
  reduce(reducer: (aggregate: V, value: V) => V, materialized: Materialized<V>): KTable<K, V> {
    return this.materialize<V>('REDUCE', materialized, (_key, value, old) =>
      old === undefined ? value : reducer(old, value),
    );
  }

  /** Folds the values of each key into an aggregate that starts at `initializer()`. */
  aggregate<A>(
    initializer: () => A,
    aggregator: (key: K, value: V, aggregate: A) => A,
    materialized: Materialized<A>,
    operation = 'AGGREGATE',
  ): KTable<K, A> {
    return this.materialize<A>(operation, materialized, (key, value, old) =>
      aggregator(key, value, old ?? initializer()),
    );
  }

  private materialize<A>(
    operation: string,
    materialized: Materialized<A>,
    apply: (key: K, value: V, old: A | undefined) => A,
  ): KTable<K, A> {
    const name = this.builder.nextName(operation);
    const storeName = materialized.name ?? this.builder.nextName(`${operation}-STATE-STORE`);
    this.builder.graph.addProcessor<K | null, V | null, K, A>(
      name,
      () => {
        let ctx: ProcessorContext<K, A>;
        let store: KeyValueStore<K, A>;
        return {
          init(context) {
            ctx = context;
            store = context.getStateStore<KeyValueStore<K, A>>(storeName);
          },
          process(record) {
            const { key, value } = record;
            if (key === null || key === undefined || value === null || value === undefined) return;
            const next = apply(key, value, store.get(key));
            store.put(key, next);
            ctx.forward({ key, value: next, timestamp: record.timestamp, headers: record.headers });
          },
        };
      },
      this.parent,
    );
    const store = keyValueStore<K, A>({
      name: storeName,
      keySerde: this.keySerde,
      valueSerde: materialized.valueSerde,
      persistent: materialized.persistent,
      caching: materialized.caching,
      logging: materialized.logging,
      cacheMaxBytes: materialized.cacheMaxBytes,
    });
    this.builder.graph.addStateStore(store, name);
    return new KTable<K, A>(this.builder, name, storeName);
  }
}

/** A table: the latest aggregate per key, updated as records arrive. */
export class KTable<K, V> {
  constructor(
    private readonly builder: StreamsBuilder,
    /** The node whose output is the table's stream of updates. */
    readonly nodeName: string,
    /** The store that holds the table. */
    readonly storeName: string,
  ) {}

  /** The table's updates as a stream: one record per change, carrying the new value. */
  toStream(): KStream<K, V> {
    return new KStream<K, V>(this.builder, this.nodeName);
  }
}
