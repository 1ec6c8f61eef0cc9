// StreamsBuilder: where a DSL program starts (streams and tables of topics) and the Topology it builds.
import type { StoreBuilder } from '@eddy/state';
import type { Deserializer } from '../../serdes/serde.js';
import type { TimestampExtractor } from '../processor.js';
import type { Topology } from '../topology.js';
import { DslGraph } from './dsl-graph.js';
import { GlobalKTable } from './global-ktable.js';
import { globalTableSourceSupplier } from './global-table-source.js';
import { KStream } from './kstream.js';
import type { KTable } from './ktable.js';
import { dslTableStore, type Materialized } from './materialized.js';
import type { Named } from './naming.js';
import { knownSerde, requireSerde } from './serdes.js';
import { sourceTopicTable } from './source-table.js';
import { storeValueGetter } from './value-getter.js';

/** How a source reads keys and values (any deserializer fits; a full serde is also used by later operations). */
export interface Consumed<K, V> {
  keySerde: Deserializer<K>;
  valueSerde: Deserializer<V>;
  timestampExtractor?: TimestampExtractor;
}

/** Options of a whole DSL program. */
export interface StreamsBuilderOptions {
  /**
   * Restore the stores of tables read with `table()` from their source topics instead of writing a changelog topic
   * for each (Kafka Streams' `topology.optimization=reuse.ktable.source.topics`); `TableMaterialized.reuseSourceTopic`
   * decides per table. Default false, as Kafka Streams' default (`none`). Use it when the source topic is compacted
   * (or keeps every record) and its serdes are the store's; a store restored from it holds the records up to the
   * committed input offset, and the task processes the rest.
   */
  reuseSourceTopics?: boolean;
}

/** How `table()` keeps its state. */
export interface TableMaterialized<K, V> extends Materialized<K, V> {
  /** Restore the store from the source topic instead of a changelog (default: the builder's `reuseSourceTopics`). */
  reuseSourceTopic?: boolean;
}

export class StreamsBuilder {
  /** @internal */
  readonly graph = new DslGraph();

  constructor(private readonly options: StreamsBuilderOptions = {}) {}

  /** A stream of the records of one or more topics. Its source node is `consumed.name`, or `source-<hash>`. */
  stream<K, V>(topics: string | string[], consumed: Consumed<K, V> & Named): KStream<K, V> {
    const list = Array.isArray(topics) ? topics : [topics];
    const name = this.graph.names.name('source', list, consumed);
    this.graph.topology.addSource(name, {
      topics: list,
      keySerde: consumed.keySerde,
      valueSerde: consumed.valueSerde,
      ...(consumed.timestampExtractor === undefined
        ? {}
        : { timestampExtractor: consumed.timestampExtractor }),
    });
    return new KStream<K, V>(
      this.graph,
      name,
      { key: knownSerde(consumed.keySerde), value: knownSerde(consumed.valueSerde) },
      false,
    );
  }

  /**
   * A table of a topic: the latest value per key (a null value deletes the key), materialized in a store named
   * `materialized.name` (default `<node>-store`), restored from a changelog topic of its own or, with
   * `reuseSourceTopic`, from the topic itself.
   */
  table<K, V>(
    topic: string,
    consumed: Consumed<K, V> & Named,
    materialized: TableMaterialized<NonNullable<K>, NonNullable<V>> = {},
  ): KTable<NonNullable<K>, NonNullable<V>> {
    const named = consumed.name === undefined ? undefined : { name: `${consumed.name}-table` };
    const stream = this.stream(topic, consumed);
    if (materialized.reuseSourceTopic ?? this.options.reuseSourceTopics ?? false) {
      return sourceTopicTable(stream, topic, materialized, named);
    }
    return stream.toTable(materialized, named);
  }

  /**
   * A table of a topic that every instance holds whole (all its partitions), in a store named `materialized.name`
   * (default `<node>-store`) that is never logged: the topic is its changelog. It is read to the end before the app
   * processes anything and kept up to date while it runs; streams look keys up in it with `join`/`leftJoin`.
   */
  globalTable<K, V>(
    topic: string,
    consumed: Consumed<K, V> & Named,
    materialized: Materialized<NonNullable<K>, NonNullable<V>> = {},
  ): GlobalKTable<NonNullable<K>, NonNullable<V>> {
    const keySerde = requireSerde<NonNullable<K>>(
      `globalTable "${topic}" (key)`,
      materialized.keySerde,
      consumed.keySerde,
    );
    const valueSerde = requireSerde<NonNullable<V>>(
      `globalTable "${topic}" (value)`,
      materialized.valueSerde,
      consumed.valueSerde,
    );
    const source = this.graph.names.name('globaltable-source', [topic], consumed);
    const node = this.graph.names.name(
      'globaltable',
      [source],
      consumed.name === undefined ? undefined : { name: `${consumed.name}-table` },
    );
    const storeName = this.graph.storeName(node, materialized.name);
    this.graph.topology.addGlobalStore(
      dslTableStore(storeName, keySerde, valueSerde, { ...materialized, logging: false }),
      source,
      {
        topic,
        keySerde: consumed.keySerde,
        valueSerde: consumed.valueSerde,
        ...(consumed.timestampExtractor === undefined
          ? {}
          : { timestampExtractor: consumed.timestampExtractor }),
      },
      node,
      globalTableSourceSupplier<NonNullable<K>, NonNullable<V>>(storeName),
    );
    return new GlobalKTable(
      this.graph,
      storeName,
      { key: keySerde, value: valueSerde },
      storeValueGetter(storeName),
    );
  }

  /** The topology built so far; run it with a StreamsApp or the TopologyTestDriver. */
  build(): Topology {
    return this.graph.topology;
  }

  /** Adds a state store for custom processors: `KStream.process(supplier, named, storeName)` connects it. */
  addStateStore(builder: StoreBuilder<unknown>): this {
    this.graph.names.claim(builder.options.name);
    this.graph.addStore(builder);
    return this;
  }
}
