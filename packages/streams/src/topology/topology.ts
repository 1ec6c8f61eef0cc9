// The topology: a graph of named source, processor and sink nodes, built with the Processor API.
import type { StoreBuilder } from '@eddy/state';
import { StreamsError } from '../errors.js';
import type { Deserializer, Serializer } from '../serdes/serde.js';
import type { ProcessorSupplier, TimestampExtractor, TopicNameExtractor } from './processor.js';

export interface SourceOptions<K, V> {
  topics: string[];
  keySerde: Deserializer<K>;
  valueSerde: Deserializer<V>;
  timestampExtractor?: TimestampExtractor;
}

export interface SinkOptions<K, V> {
  /** A topic, or a function that picks one per record (that topic must exist). */
  topic: string | TopicNameExtractor<K, V>;
  keySerde: Serializer<K>;
  valueSerde: Serializer<V>;
}

/** @internal node descriptions, read by the runtime. */
export type NodeSpec =
  | {
      kind: 'source';
      name: string;
      topics: string[];
      keySerde: Deserializer<unknown>;
      valueSerde: Deserializer<unknown>;
      timestampExtractor: TimestampExtractor | undefined;
    }
  | {
      kind: 'processor';
      name: string;
      parents: string[];
      supplier: ProcessorSupplier<unknown, unknown, unknown, unknown>;
    }
  | {
      kind: 'sink';
      name: string;
      parents: string[];
      topic: string | TopicNameExtractor<unknown, unknown>;
      keySerde: Serializer<unknown>;
      valueSerde: Serializer<unknown>;
    };

/** @internal a state store and the processors that may use it. */
export interface StoreSpec {
  name: string;
  builder: StoreBuilder<unknown>;
  processors: Set<string>;
}

/** @internal what the runtime needs of a topology. */
export interface SealedTopology {
  nodes: NodeSpec[];
  children: ReadonlyMap<string, string[]>;
  stores: StoreSpec[];
}

const NAME = /^[A-Za-z0-9._-]+$/;

export class Topology {
  private readonly nodes = new Map<string, NodeSpec>();
  private readonly children = new Map<string, string[]>();
  private readonly stores = new Map<string, StoreSpec>();
  private sealed = false;

  addSource<K, V>(name: string, options: SourceOptions<K, V>): this {
    this.checkNewName(name);
    if (options.topics.length === 0) throw invalid(`source "${name}" names no topic`);
    for (const node of this.nodes.values()) {
      if (node.kind !== 'source') continue;
      const shared = node.topics.find((t) => options.topics.includes(t));
      if (shared) throw invalid(`topic "${shared}" is read by two sources: "${node.name}" and "${name}"`);
    }
    this.add({
      kind: 'source',
      name,
      topics: [...options.topics],
      keySerde: options.keySerde as Deserializer<unknown>,
      valueSerde: options.valueSerde as Deserializer<unknown>,
      timestampExtractor: options.timestampExtractor,
    });
    return this;
  }

  addProcessor<KIn, VIn, KOut, VOut>(
    name: string,
    supplier: ProcessorSupplier<KIn, VIn, KOut, VOut>,
    ...parents: string[]
  ): this {
    this.checkNewName(name);
    this.checkParents(name, parents);
    this.add({
      kind: 'processor',
      name,
      parents,
      supplier: supplier as unknown as ProcessorSupplier<unknown, unknown, unknown, unknown>,
    });
    return this;
  }

  addSink<K, V>(name: string, options: SinkOptions<K, V>, ...parents: string[]): this {
    this.checkNewName(name);
    this.checkParents(name, parents);
    if (!options.topic) throw invalid(`sink "${name}" names no topic`);
    this.add({
      kind: 'sink',
      name,
      parents,
      topic: options.topic as string | TopicNameExtractor<unknown, unknown>,
      keySerde: options.keySerde as Serializer<unknown>,
      valueSerde: options.valueSerde as Serializer<unknown>,
    });
    return this;
  }

  /**
   * Adds a state store (from a builder of `@eddy/state`) and connects it to the named processors, which reach it
   * with `context.getStateStore(name)`. Each task gets its own instance.
   */
  addStateStore(builder: StoreBuilder<unknown>, ...processorNames: string[]): this {
    const name = builder.options.name;
    if (this.sealed) throw invalid('the topology is already running and cannot change');
    if (!NAME.test(name)) throw invalid(`store name "${name}" must match ${NAME}`);
    if (this.stores.has(name)) throw invalid(`a store named "${name}" already exists`);
    this.stores.set(name, { name, builder, processors: new Set() });
    return this.connectProcessorAndStateStores(processorNames, name);
  }

  /** Lets processors use stores already added. */
  connectProcessorAndStateStores(processorNames: string[], ...storeNames: string[]): this {
    if (this.sealed) throw invalid('the topology is already running and cannot change');
    for (const storeName of storeNames) {
      const store = this.stores.get(storeName);
      if (!store) throw invalid(`no store named "${storeName}"`);
      for (const p of processorNames) {
        if (this.nodes.get(p)?.kind !== 'processor')
          throw invalid(`store "${storeName}" names unknown processor "${p}"`);
        store.processors.add(p);
      }
    }
    return this;
  }

  /** Names of the state stores. */
  storeNames(): string[] {
    return [...this.stores.keys()];
  }

  /** All topics read by sources. */
  sourceTopics(): string[] {
    return [...this.nodes.values()].flatMap((n) => (n.kind === 'source' ? n.topics : []));
  }

  /** Topics written by sinks with a fixed topic. */
  sinkTopics(): string[] {
    return [
      ...new Set(
        [...this.nodes.values()].flatMap((n) =>
          n.kind === 'sink' && typeof n.topic === 'string' ? [n.topic] : [],
        ),
      ),
    ];
  }

  /** A stable, human-readable description of sources, processors and sinks with their topics. */
  describe(): string {
    const lines = ['Topology', '  Sub-topology: 0'];
    for (const node of this.nodes.values()) {
      const kids = this.children.get(node.name) ?? [];
      const to = kids.length ? ` --> ${kids.join(', ')}` : ' --> none';
      const from = node.kind === 'source' ? '' : ` <-- ${node.parents.join(', ')}`;
      if (node.kind === 'source')
        lines.push(`    Source: ${node.name} (topics: [${node.topics.join(', ')}])${to}`);
      else if (node.kind === 'processor') {
        const stores = [...this.stores.values()]
          .filter((st) => st.processors.has(node.name))
          .map((st) => st.name);
        const withStores = stores.length ? ` (stores: [${stores.join(', ')}])` : '';
        lines.push(`    Processor: ${node.name}${withStores}${to}${from}`);
      } else {
        const topic = typeof node.topic === 'string' ? node.topic : 'chosen per record';
        lines.push(`    Sink: ${node.name} (topic: ${topic})${from}`);
      }
    }
    return `${lines.join('\n')}\n`;
  }

  /** @internal the validated node list in insertion order, each node's children, and the stores. */
  seal(): SealedTopology {
    if (![...this.nodes.values()].some((n) => n.kind === 'source'))
      throw invalid('the topology has no source');
    this.sealed = true;
    return { nodes: [...this.nodes.values()], children: this.children, stores: [...this.stores.values()] };
  }

  private add(node: NodeSpec): void {
    if (this.sealed) throw invalid('the topology is already running and cannot change');
    this.nodes.set(node.name, node);
    this.children.set(node.name, []);
    if (node.kind !== 'source') for (const p of node.parents) this.children.get(p)?.push(node.name);
  }

  private checkNewName(name: string): void {
    if (!NAME.test(name)) throw invalid(`node name "${name}" must match ${NAME}`);
    if (this.nodes.has(name)) throw invalid(`a node named "${name}" already exists`);
  }

  private checkParents(name: string, parents: string[]): void {
    if (parents.length === 0) throw invalid(`node "${name}" needs at least one parent`);
    for (const p of parents) {
      const parent = this.nodes.get(p);
      if (!parent) throw invalid(`node "${name}" names unknown parent "${p}"`);
      if (parent.kind === 'sink') throw invalid(`node "${name}" cannot have sink "${p}" as parent`);
    }
  }
}

function invalid(message: string): StreamsError {
  return new StreamsError('INVALID_TOPOLOGY', message);
}
