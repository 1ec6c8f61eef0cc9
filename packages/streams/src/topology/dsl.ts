// The DSL: StreamsBuilder and KStream, which add named nodes to a Topology.
import type { Deserializer, Serializer } from '../serdes/serde.js';
import type {
  Processor,
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
