// The topology: a graph of named source, processor and sink nodes, built with the Processor API, and sealed into
// subtopologies that meet only at internal (repartition) topics.
import type { StoreBuilder } from '@eddy/state';
import { StreamsError } from '../errors.js';
import type { Deserializer, Serializer } from '../serdes/serde.js';
import type { ProcessorSupplier, StreamRecord, TimestampExtractor, TopicNameExtractor } from './processor.js';

export interface SourceOptions<K, V> {
  /** The topics to read; or, instead, `repartitionTopic`. */
  topics?: string[];
  /** An internal topic declared with `addRepartitionTopic`, written by a sink of this topology. */
  repartitionTopic?: string;
  keySerde: Deserializer<K>;
  valueSerde: Deserializer<V>;
  timestampExtractor?: TimestampExtractor;
}

export interface SinkOptions<K, V> {
  /** A topic, or a function that picks one per record (that topic must exist); or, instead, `repartitionTopic`. */
  topic?: string | TopicNameExtractor<K, V>;
  /**
   * An internal topic declared with `addRepartitionTopic`: records go to the partition of their serialized key, and
   * the subtopology that reads it processes them as tasks of its own.
   */
  repartitionTopic?: string;
  keySerde: Serializer<K>;
  valueSerde: Serializer<V>;
  /**
   * The partition of each record; undefined (or a result of undefined): the partition of its serialized key. The
   * number must be below the topic's partition count.
   */
  partitioner?: (record: StreamRecord<K, V>) => number | undefined;
}

/** @internal node descriptions, read by the runtime. */
export type NodeSpec =
  | {
      kind: 'source';
      name: string;
      /** Topic names as the cluster knows them (an internal topic's full name once sealed). */
      topics: string[];
      /** The logical name of the repartition topic this source reads, if it reads one. */
      repartitionTopic: string | undefined;
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
      /** The logical name of the repartition topic this sink writes, if it writes one. */
      repartitionTopic: string | undefined;
      keySerde: Serializer<unknown>;
      valueSerde: Serializer<unknown>;
      partitioner: ((record: StreamRecord<unknown, unknown>) => number | undefined) | undefined;
    };

/** @internal a state store and the processors that may use it. */
export interface StoreSpec {
  name: string;
  builder: StoreBuilder<unknown>;
  processors: Set<string>;
}

/** How a global store reads its source topic. */
export interface GlobalSourceOptions<K, V> {
  topic: string;
  keySerde: Deserializer<K>;
  valueSerde: Deserializer<V>;
  timestampExtractor?: TimestampExtractor;
}

/**
 * @internal a store every instance holds whole: all partitions of its source topic, which is also its changelog.
 * It belongs to no subtopology; its processor applies the topic's records to it, and every task may read it.
 */
export interface GlobalStoreSpec {
  name: string;
  builder: StoreBuilder<unknown>;
  topic: string;
  source: Extract<NodeSpec, { kind: 'source' }>;
  processorName: string;
  supplier: ProcessorSupplier<unknown, unknown, never, never>;
}

/** @internal an internal topic between two subtopologies. */
export interface RepartitionTopicSpec {
  /** The name given to `addRepartitionTopic`. */
  name: string;
  /** `<applicationId>-<name>-repartition`. */
  topic: string;
  /** Configured partition count; undefined: derived at start (see `resolveTopicLayout`). */
  partitions: number | undefined;
  /** The count is that of the other source topics of the subtopology that reads it (see `addRepartitionTopic`). */
  copartitionWithReader: boolean;
  /** Subtopologies whose sinks write it, and the one whose source reads it. */
  writers: number[];
  reader: number;
}

/** @internal a part of the topology that shares no node or store with the others; its tasks are `<id>_<partition>`. */
export interface SubtopologySpec {
  id: number;
  /** Its nodes, in the order they were added. */
  nodes: NodeSpec[];
  /** Every topic its sources read (internal ones by their full names); co-partitioned. */
  sourceTopics: string[];
  stores: StoreSpec[];
}

/** @internal what the runtime needs of a topology. */
export interface SealedTopology {
  applicationId: string;
  nodes: NodeSpec[];
  children: ReadonlyMap<string, string[]>;
  stores: StoreSpec[];
  subtopologies: SubtopologySpec[];
  repartitionTopics: RepartitionTopicSpec[];
  /** Source topic (full name) → the subtopology that reads it. */
  subtopologyOfTopic: ReadonlyMap<string, number>;
  /** Store name → the subtopology whose processors use it. */
  subtopologyOfStore: ReadonlyMap<string, number>;
  /** Processors from which records reach a sink that writes a repartition topic. */
  feedsRepartitionTopic: ReadonlySet<string>;
  /** Stores every instance holds whole, each updated from its own topic; reachable from every processor. */
  globalStores: GlobalStoreSpec[];
}

/** The full name of an application's internal repartition topic. */
export function repartitionTopicName(applicationId: string, name: string): string {
  return `${applicationId}-${name}-repartition`;
}

const NAME = /^[A-Za-z0-9._-]+$/;

export class Topology {
  private readonly nodes = new Map<string, NodeSpec>();
  private readonly children = new Map<string, string[]>();
  private readonly stores = new Map<string, StoreSpec>();
  private readonly repartitionTopics = new Map<
    string,
    { partitions: number | undefined; copartitionWithReader: boolean }
  >();
  private readonly globalStores = new Map<string, GlobalStoreSpec>();
  private sealed = false;

  /**
   * Declares an internal topic, `<applicationId>-<name>-repartition`, that a sink writes (`repartitionTopic: name`)
   * and a source reads: the app creates it at start with `partitions` partitions (default: the count of the reading
   * subtopology's other inputs when fixed, else the largest among the source topics of the subtopologies that write
   * it) and deletes records below its committed offsets.
   */
  addRepartitionTopic(
    name: string,
    options: { partitions?: number; copartitionWithReader?: boolean } = {},
  ): this {
    if (this.sealed) throw invalid('the topology is already running and cannot change');
    if (!NAME.test(name)) throw invalid(`repartition topic name "${name}" must match ${NAME}`);
    if (this.repartitionTopics.has(name)) throw invalid(`a repartition topic named "${name}" already exists`);
    const { partitions } = options;
    if (partitions !== undefined && (!Number.isSafeInteger(partitions) || partitions < 1)) {
      throw invalid(`repartition topic "${name}" needs a partition count >= 1, got ${partitions}`);
    }
    const copartitionWithReader = options.copartitionWithReader === true;
    if (partitions !== undefined && copartitionWithReader) {
      throw invalid(`repartition topic "${name}" takes either a partition count or copartitionWithReader`);
    }
    this.repartitionTopics.set(name, { partitions, copartitionWithReader });
    return this;
  }

  addSource<K, V>(name: string, options: SourceOptions<K, V>): this {
    this.checkNewName(name);
    const { repartitionTopic } = options;
    if ((options.topics === undefined) === (repartitionTopic === undefined)) {
      throw invalid(`source "${name}" needs either topics or a repartitionTopic`);
    }
    if (repartitionTopic !== undefined) this.checkRepartitionTopic(name, repartitionTopic);
    const topics = repartitionTopic === undefined ? [...(options.topics ?? [])] : [repartitionTopic];
    if (topics.length === 0) throw invalid(`source "${name}" names no topic`);
    for (const node of this.nodes.values()) {
      if (
        node.kind !== 'source' ||
        (node.repartitionTopic === undefined) !== (repartitionTopic === undefined)
      ) {
        continue;
      }
      const shared = node.topics.find((t) => topics.includes(t));
      if (shared) throw invalid(`topic "${shared}" is read by two sources: "${node.name}" and "${name}"`);
    }
    if (repartitionTopic === undefined) for (const t of topics) this.checkNotGlobalTopic(t, name);
    this.add({
      kind: 'source',
      name,
      topics,
      repartitionTopic,
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
    const { repartitionTopic } = options;
    if (repartitionTopic !== undefined) {
      if (options.topic !== undefined)
        throw invalid(`sink "${name}" names both a topic and a repartitionTopic`);
      this.checkRepartitionTopic(name, repartitionTopic);
    } else if (!options.topic) throw invalid(`sink "${name}" names no topic`);
    this.add({
      kind: 'sink',
      name,
      parents,
      topic: (repartitionTopic ?? options.topic) as string | TopicNameExtractor<unknown, unknown>,
      repartitionTopic,
      keySerde: options.keySerde as Serializer<unknown>,
      valueSerde: options.valueSerde as Serializer<unknown>,
      partitioner: options.partitioner as
        | ((record: StreamRecord<unknown, unknown>) => number | undefined)
        | undefined,
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
    if (this.stores.has(name) || this.globalStores.has(name))
      throw invalid(`a store named "${name}" already exists`);
    this.stores.set(name, { name, builder, processors: new Set() });
    return this.connectProcessorAndStateStores(processorNames, name);
  }

  /**
   * Adds a global store: every instance of the app holds all partitions of `source.topic` in it, read to the end
   * before the app processes anything, then kept up to date while it runs. Each record of the topic goes, as
   * deserialized by `source`, to the processor `processorName`, which applies it to the store (and forwards
   * nothing). Any processor may read the store with `getStateStore(name)` without being connected to it. The topic
   * is the store's changelog: build the store with `logging: false`.
   */
  addGlobalStore<K, V>(
    builder: StoreBuilder<unknown>,
    sourceName: string,
    source: GlobalSourceOptions<K, V>,
    processorName: string,
    supplier: ProcessorSupplier<K, V, never, never>,
  ): this {
    const name = builder.options.name;
    if (this.sealed) throw invalid('the topology is already running and cannot change');
    if (!NAME.test(name)) throw invalid(`store name "${name}" must match ${NAME}`);
    if (this.stores.has(name) || this.globalStores.has(name))
      throw invalid(`a store named "${name}" already exists`);
    if (builder.options.logging ?? true) {
      throw invalid(
        `global store "${name}" must not be logged: its source topic is its changelog (build it with logging: false)`,
      );
    }
    this.checkNewName(sourceName);
    if (processorName === sourceName) throw invalid(`a node named "${processorName}" already exists`);
    this.checkNewName(processorName);
    if (!source.topic) throw invalid(`global store "${name}" names no topic`);
    const reader = [...this.nodes.values()].find(
      (n) => n.kind === 'source' && n.repartitionTopic === undefined && n.topics.includes(source.topic),
    );
    if (reader)
      throw invalid(`topic "${source.topic}" is read by two sources: "${reader.name}" and "${sourceName}"`);
    this.checkNotGlobalTopic(source.topic, sourceName);
    this.globalStores.set(name, {
      name,
      builder,
      topic: source.topic,
      source: {
        kind: 'source',
        name: sourceName,
        topics: [source.topic],
        repartitionTopic: undefined,
        keySerde: source.keySerde as Deserializer<unknown>,
        valueSerde: source.valueSerde as Deserializer<unknown>,
        timestampExtractor: source.timestampExtractor,
      },
      processorName,
      supplier: supplier as unknown as ProcessorSupplier<unknown, unknown, never, never>,
    });
    return this;
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

  /** Names of the state stores (global stores not included). */
  storeNames(): string[] {
    return [...this.stores.keys()];
  }

  /** Names of the global stores. */
  globalStoreNames(): string[] {
    return [...this.globalStores.keys()];
  }

  /** The topics global stores read. */
  globalTopics(): string[] {
    return [...this.globalStores.values()].map((g) => g.topic);
  }

  /** The user topics read by sources (internal repartition topics are not listed). */
  sourceTopics(): string[] {
    return [...this.nodes.values()].flatMap((n) =>
      n.kind === 'source' && n.repartitionTopic === undefined ? n.topics : [],
    );
  }

  /** User topics written by sinks with a fixed topic (internal repartition topics are not listed). */
  sinkTopics(): string[] {
    return [
      ...new Set(
        [...this.nodes.values()].flatMap((n) =>
          n.kind === 'sink' && n.repartitionTopic === undefined && typeof n.topic === 'string'
            ? [n.topic]
            : [],
        ),
      ),
    ];
  }

  /**
   * A stable, human-readable description of each subtopology's sources, processors (with their stores) and sinks.
   * Repartition topics appear as `<name>-repartition` (their full name also starts with the application id).
   */
  describe(): string {
    const lines = ['Topology'];
    for (const sub of splitSubtopologies(this.nodes, this.children, this.stores)) {
      lines.push(`  Sub-topology: ${sub.id}`);
      for (const node of sub.nodes) {
        const kids = this.children.get(node.name) ?? [];
        const to = kids.length ? ` --> ${kids.join(', ')}` : ' --> none';
        const from = node.kind === 'source' ? '' : ` <-- ${node.parents.join(', ')}`;
        if (node.kind === 'source') {
          const topics =
            node.repartitionTopic === undefined ? node.topics : [`${node.repartitionTopic}-repartition`];
          lines.push(`    Source: ${node.name} (topics: [${topics.join(', ')}])${to}`);
        } else if (node.kind === 'processor') {
          const stores = [...this.stores.values()]
            .filter((st) => st.processors.has(node.name))
            .map((st) => st.name);
          const withStores = stores.length ? ` (stores: [${stores.join(', ')}])` : '';
          lines.push(`    Processor: ${node.name}${withStores}${to}${from}`);
        } else {
          const topic =
            node.repartitionTopic !== undefined
              ? `${node.repartitionTopic}-repartition`
              : typeof node.topic === 'string'
                ? node.topic
                : 'chosen per record';
          lines.push(`    Sink: ${node.name} (topic: ${topic})${from}`);
        }
      }
    }
    for (const g of this.globalStores.values()) {
      lines.push(`  Global store: ${g.name} (will not generate tasks)`);
      lines.push(`    Source: ${g.source.name} (topics: [${g.topic}]) --> ${g.processorName}`);
      lines.push(`    Processor: ${g.processorName} (stores: [${g.name}]) <-- ${g.source.name}`);
    }
    return `${lines.join('\n')}\n`;
  }

  /**
   * @internal validates the graph and splits it into subtopologies, with internal topics named for
   * `applicationId`. The topology cannot change afterwards.
   */
  seal(applicationId: string): SealedTopology {
    if (![...this.nodes.values()].some((n) => n.kind === 'source'))
      throw invalid('the topology has no source');
    for (const [name] of this.repartitionTopics) {
      const nodes = [...this.nodes.values()];
      if (!nodes.some((n) => n.kind === 'source' && n.repartitionTopic === name)) {
        throw invalid(`repartition topic "${name}" is read by no source`);
      }
      if (!nodes.some((n) => n.kind === 'sink' && n.repartitionTopic === name)) {
        throw invalid(`repartition topic "${name}" is written by no sink`);
      }
    }
    this.sealed = true;
    const physical = (node: NodeSpec): NodeSpec => {
      if (node.kind === 'source' && node.repartitionTopic !== undefined) {
        return { ...node, topics: [repartitionTopicName(applicationId, node.repartitionTopic)] };
      }
      if (node.kind === 'sink' && node.repartitionTopic !== undefined) {
        return { ...node, topic: repartitionTopicName(applicationId, node.repartitionTopic) };
      }
      return node;
    };
    const resolved = new Map([...this.nodes].map(([name, node]) => [name, physical(node)]));
    const subtopologies = splitSubtopologies(resolved, this.children, this.stores);
    const subtopologyOfTopic = new Map<string, number>();
    const subtopologyOfNode = new Map<string, number>();
    const subtopologyOfStore = new Map<string, number>();
    for (const sub of subtopologies) {
      for (const t of sub.sourceTopics) subtopologyOfTopic.set(t, sub.id);
      for (const n of sub.nodes) subtopologyOfNode.set(n.name, sub.id);
      for (const st of sub.stores) subtopologyOfStore.set(st.name, sub.id);
    }
    const repartitionTopics = [...this.repartitionTopics].map(
      ([name, { partitions, copartitionWithReader }]): RepartitionTopicSpec => {
        const topic = repartitionTopicName(applicationId, name);
        const writers = [...resolved.values()]
          .filter((n) => n.kind === 'sink' && n.repartitionTopic === name)
          .map((n) => subtopologyOfNode.get(n.name)!);
        return {
          name,
          topic,
          partitions,
          copartitionWithReader,
          writers: [...new Set(writers)].sort((a, b) => a - b),
          reader: subtopologyOfTopic.get(topic)!,
        };
      },
    );
    for (const r of repartitionTopics) {
      if (r.writers.includes(r.reader)) {
        throw invalid(
          `repartition topic "${r.name}" is written and read by the same subtopology ${r.reader}`,
        );
      }
    }
    return {
      feedsRepartitionTopic: feedsRepartitionTopic(this.nodes, this.children),
      applicationId,
      nodes: [...resolved.values()],
      children: this.children,
      stores: [...this.stores.values()],
      subtopologies,
      repartitionTopics,
      subtopologyOfTopic,
      subtopologyOfStore,
      globalStores: [...this.globalStores.values()],
    };
  }

  private add(node: NodeSpec): void {
    if (this.sealed) throw invalid('the topology is already running and cannot change');
    this.nodes.set(node.name, node);
    this.children.set(node.name, []);
    if (node.kind !== 'source') for (const p of node.parents) this.children.get(p)?.push(node.name);
  }

  private checkNewName(name: string): void {
    if (!NAME.test(name)) throw invalid(`node name "${name}" must match ${NAME}`);
    const global = [...this.globalStores.values()].some(
      (g) => g.source.name === name || g.processorName === name,
    );
    if (this.nodes.has(name) || global) throw invalid(`a node named "${name}" already exists`);
  }

  private checkNotGlobalTopic(topic: string, node: string): void {
    const global = [...this.globalStores.values()].find((g) => g.topic === topic);
    if (global)
      throw invalid(`topic "${topic}" is read by two sources: "${global.source.name}" and "${node}"`);
  }

  private checkRepartitionTopic(node: string, topic: string): void {
    if (!this.repartitionTopics.has(topic)) {
      throw invalid(
        `node "${node}" names repartition topic "${topic}", which addRepartitionTopic did not declare`,
      );
    }
  }

  private checkParents(name: string, parents: string[]): void {
    if (parents.length === 0) throw invalid(`node "${name}" needs at least one parent`);
    for (const p of parents) {
      const parent = this.nodes.get(p);
      if (!parent) throw invalid(`node "${name}" names unknown parent "${p}"`);
      if (parent.kind === 'sink') throw invalid(`node "${name}" cannot have sink "${p}" as parent`);
    }
  }

  /** @internal the parents of a node (none for a source or an unknown name). */
  parentsOf(name: string): readonly string[] {
    const node = this.nodes.get(name);
    return node === undefined || node.kind === 'source' ? [] : node.parents;
  }
}

/**
 * Splits the graph into its connected parts: nodes joined by a parent-child edge, or by a store they share, belong
 * together. Parts are numbered in the order of their first node, so adding a part at the end renumbers nothing.
 */
function splitSubtopologies(
  nodes: ReadonlyMap<string, NodeSpec>,
  children: ReadonlyMap<string, string[]>,
  stores: ReadonlyMap<string, StoreSpec>,
): SubtopologySpec[] {
  const root = new Map<string, string>();
  const find = (n: string): string => {
    let r = n;
    while (root.get(r) !== r) r = root.get(r)!;
    root.set(n, r);
    return r;
  };
  const union = (a: string, b: string): void => {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) root.set(rb, ra);
  };
  for (const name of nodes.keys()) root.set(name, name);
  for (const [name, kids] of children) for (const kid of kids) if (nodes.has(kid)) union(name, kid);
  for (const store of stores.values()) {
    const [first, ...rest] = [...store.processors];
    if (first !== undefined) for (const p of rest) union(first, p);
  }
  const byRoot = new Map<string, SubtopologySpec>();
  const out: SubtopologySpec[] = [];
  for (const node of nodes.values()) {
    const r = find(node.name);
    let sub = byRoot.get(r);
    if (sub === undefined) {
      sub = { id: out.length, nodes: [], sourceTopics: [], stores: [] };
      byRoot.set(r, sub);
      out.push(sub);
    }
    sub.nodes.push(node);
    if (node.kind === 'source') sub.sourceTopics.push(...node.topics);
  }
  for (const store of stores.values()) {
    const first = [...store.processors][0];
    // A store no processor uses lives with the first subtopology.
    const sub = first === undefined ? out[0] : byRoot.get(find(first));
    sub?.stores.push(store);
  }
  return out;
}

/** The nodes that have a repartition sink among their descendants. */
function feedsRepartitionTopic(
  nodes: ReadonlyMap<string, NodeSpec>,
  children: ReadonlyMap<string, string[]>,
): Set<string> {
  const memo = new Map<string, boolean>();
  const feeds = (name: string): boolean => {
    const known = memo.get(name);
    if (known !== undefined) return known;
    memo.set(name, false);
    const node = nodes.get(name);
    const result =
      (node?.kind === 'sink' && node.repartitionTopic !== undefined) ||
      (children.get(name) ?? []).some(feeds);
    memo.set(name, result);
    return result;
  };
  return new Set([...nodes.keys()].filter((n) => nodes.get(n)?.kind === 'processor' && feeds(n)));
}

function invalid(message: string): StreamsError {
  return new StreamsError('INVALID_TOPOLOGY', message);
}
