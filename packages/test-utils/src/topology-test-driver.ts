// TopologyTestDriver: runs a topology in memory, synchronously, for users' unit tests. The same Topology object
// runs here and against Kafka; records are processed by the runtime's own task code, one task per subtopology, and
// records written to a repartition topic are handed to the subtopology that reads it.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {
  Deserializer,
  DropReason,
  ErrorMode,
  Logger,
  RecordHeaders,
  Serializer,
  StreamRecord,
  Topology,
  TracingOptions,
} from '@eddy/streams';
import { StreamsError } from '@eddy/streams';
import {
  type ConsumedRecord,
  createTask,
  createTaskState,
  DRAIN_ONLY,
  GlobalState,
  type OutgoingRecord,
  prepareSerdes,
  RecordCollector,
  resolveTracing,
  type SealedTopology,
  type StreamTask,
  serdeUses,
  TaskId,
  type TaskState,
  userView,
} from '@eddy/streams/internals';

export interface TestDriverOptions {
  applicationId?: string;
  /** Where persistent stores live; default a fresh temporary directory, deleted by close(). */
  stateDir?: string;
  /** The partition number of the tasks the driver runs (one per subtopology). Default 0. */
  partition?: number;
  /** The driver's wall-clock time at start (ms). Default 0. */
  initialWallClockTime?: number;
  deserializationErrors?: ErrorMode;
  processingErrors?: ErrorMode;
  logger?: Logger;
  /** Trace records as a StreamsApp with this `tracing` option does. Default off. */
  tracing?: boolean | TracingOptions;
}

export interface TestRecord<K, V> extends StreamRecord<K, V> {
  topic: string;
}

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** Feeds records of one topic into the driver. */
export class TestInputTopic<K, V> {
  private nextTimestamp: number;

  /** @internal */
  constructor(
    private readonly driver: TopologyTestDriver,
    readonly topic: string,
    private readonly keySerializer: Serializer<K>,
    private readonly valueSerializer: Serializer<V>,
    startTimestamp: number,
    private readonly autoAdvanceMs: number,
  ) {
    this.nextTimestamp = startTimestamp;
  }

  /** Pipes one record. Without a timestamp, the topic's clock gives one and advances by `autoAdvanceMs`. */
  pipeInput(key: K, value: V, timestamp?: number, headers: RecordHeaders = {}): void {
    const ts = timestamp ?? this.nextTimestamp;
    if (timestamp === undefined) this.nextTimestamp += this.autoAdvanceMs;
    this.driver.pipe(
      this.topic,
      this.keySerializer.serialize(key),
      this.valueSerializer.serialize(value),
      ts,
      headers,
    );
  }

  pipeKeyValueList(pairs: [K, V][]): void {
    for (const [k, v] of pairs) this.pipeInput(k, v);
  }

  /** Pipes raw bytes, e.g. a record no serde can read. */
  pipeRawInput(
    key: Buffer | null,
    value: Buffer | null,
    timestamp = this.nextTimestamp,
    headers: RecordHeaders = {},
  ): void {
    this.driver.pipe(this.topic, key, value, timestamp, headers);
  }

  /** Moves this topic's clock forward for records piped without a timestamp. */
  advanceTime(ms: number): void {
    this.nextTimestamp += ms;
  }
}

/** Reads what the topology wrote to one topic, oldest first. */
export class TestOutputTopic<K, V> {
  /** @internal */
  constructor(
    private readonly driver: TopologyTestDriver,
    readonly topic: string,
    private readonly keyDeserializer: Deserializer<K>,
    private readonly valueDeserializer: Deserializer<V>,
  ) {}

  get queueSize(): number {
    return this.driver.queue(this.topic).length;
  }

  isEmpty(): boolean {
    return this.queueSize === 0;
  }

  /** Takes the oldest record; throws ILLEGAL_STATE if there is none. */
  readRecord(): TestRecord<K, V> {
    const r = this.driver.queue(this.topic).shift();
    if (!r) throw new StreamsError('ILLEGAL_STATE', `no output record in topic ${this.topic}`);
    return {
      topic: this.topic,
      key: this.keyDeserializer.deserialize(r.key),
      value: this.valueDeserializer.deserialize(r.value),
      timestamp: r.timestamp ?? 0,
      headers: r.headers ?? {},
    };
  }

  readKeyValue(): [K, V] {
    const r = this.readRecord();
    return [r.key, r.value];
  }

  readValue(): V {
    return this.readRecord().value;
  }

  readRecordsToList(): TestRecord<K, V>[] {
    const out: TestRecord<K, V>[] = [];
    while (!this.isEmpty()) out.push(this.readRecord());
    return out;
  }

  readKeyValuesToList(): [K, V][] {
    return this.readRecordsToList().map((r) => [r.key, r.value]);
  }

  readValuesToList(): V[] {
    return this.readRecordsToList().map((r) => r.value);
  }
}

export class TopologyTestDriver {
  /** One task per subtopology, in subtopology order. */
  private readonly tasks: StreamTask[] = [];
  private readonly states: TaskState[] = [];
  private readonly graph: SealedTopology;
  private readonly collector: RecordCollector;
  private readonly outputs = new Map<string, OutgoingRecord[]>();
  private readonly offsets = new Map<string, bigint>();
  private readonly sourceTopics: Set<string>;
  private readonly stores = new Map<string, unknown>();
  private readonly ownStateDir: string | undefined;
  private readonly opened: Promise<void>;
  private changelogOffset = 0n;
  private isOpen = false;
  /** Whether the topology has serdes with a `prepare` (e.g. Avro serdes), and whether `create` ran them. */
  private readonly needsPreparing: boolean;
  private prepared = false;
  private readonly writes: Promise<void>[] = [];
  private wallClock: number;
  private closed = false;
  private readonly dropped = new Map<string, number>();
  /** The global stores, updated synchronously by records piped into their topics. */
  private readonly global: GlobalState | undefined;
  private readonly partition: number;

  /** Use `await TopologyTestDriver.create(...)` for topologies with state stores; this constructor for others. */
  constructor(topology: Topology, options: TestDriverOptions = {}) {
    this.wallClock = options.initialWallClockTime ?? 0;
    this.sourceTopics = new Set([...topology.sourceTopics(), ...topology.globalTopics()]);
    this.collector = new RecordCollector(DRAIN_ONLY);
    const applicationId = options.applicationId ?? 'test-driver';
    this.graph = topology.seal(applicationId);
    this.needsPreparing = serdeUses(this.graph).length > 0;
    const partition = options.partition ?? 0;
    this.partition = partition;
    if (this.graph.stores.length > 0 || this.graph.globalStores.length > 0) {
      this.ownStateDir =
        options.stateDir === undefined ? mkdtempSync(join(tmpdir(), 'eddy-test-driver-')) : undefined;
    }
    const config = {
      applicationId,
      stateDir: options.stateDir ?? this.ownStateDir ?? tmpdir(),
      deserializationErrors: options.deserializationErrors ?? 'fail',
      processingErrors: options.processingErrors ?? 'fail',
      logger: options.logger ?? silent,
      tracing: resolveTracing(options.tracing),
    };
    this.global = GlobalState.create(config, this.graph, () => this.wallClock);
    for (const [name, store] of this.global?.stores ?? []) this.stores.set(name, store);
    for (const sub of this.graph.subtopologies) {
      const id = TaskId.of(sub.id, partition);
      const state = createTaskState(config, this.graph, id);
      if (state !== undefined) {
        this.states.push(state);
        for (const [name, store] of state.stores) this.stores.set(name, store);
      }
      const task = createTask({
        id,
        graph: this.graph,
        config,
        collector: this.collector,
        state,
        clock: () => this.wallClock,
        onDropped: (reason) => this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + 1),
        ...(this.global === undefined ? {} : { globalStores: this.global.stores }),
      });
      // Every input is caught up (all piped input is delivered at once): a task never waits for one to be fetched.
      for (const topic of sub.sourceTopics) task.addRecords(topic, [], 0n, -1n);
      this.tasks.push(task);
    }
    const opening = [...this.states.map((s) => s.state), ...(this.global ? [this.global.state] : [])];
    this.opened = Promise.all(opening.map((s) => s.open())).then(() => {
      this.isOpen = true;
    });
  }

  /**
   * Creates a driver, opens its state stores (needed before piping input into a stateful topology) and lets the
   * topology's serdes prepare as a StreamsApp start does (needed for serdes with a `prepare`, e.g. Avro serdes, which
   * register or look up their schemas in their registry). A serde that cannot prepare rejects with
   * SERDE_PREPARE_FAILED.
   */
  static async create(topology: Topology, options: TestDriverOptions = {}): Promise<TopologyTestDriver> {
    const driver = new TopologyTestDriver(topology, options);
    await driver.opened;
    if (driver.needsPreparing) {
      try {
        await prepareSerdes(driver.graph, { dryRun: false });
      } catch (err) {
        await driver.close();
        throw err;
      }
      driver.prepared = true;
    }
    return driver;
  }

  /**
   * The task's instance of a state store (or a global store), to inspect what the topology stored. The store of a
   * key-value aggregation (count, reduce, aggregate) shows its plain values, as an interactive query does.
   */
  getStateStore<S>(name: string): S {
    this.checkOpen();
    if (!this.stores.has(name))
      throw new StreamsError('INVALID_TOPOLOGY', `the topology has no store named ${name}`);
    return userView(this.stores.get(name)) as S;
  }

  createInputTopic<K, V>(
    topic: string,
    keySerializer: Serializer<K>,
    valueSerializer: Serializer<V>,
    { startTimestamp = 0, autoAdvanceMs = 0 }: { startTimestamp?: number; autoAdvanceMs?: number } = {},
  ): TestInputTopic<K, V> {
    if (!this.sourceTopics.has(topic)) {
      throw new StreamsError('TOPIC_MISSING', `the topology reads no topic named ${topic}`);
    }
    return new TestInputTopic(this, topic, keySerializer, valueSerializer, startTimestamp, autoAdvanceMs);
  }

  createOutputTopic<K, V>(
    topic: string,
    keyDeserializer: Deserializer<K>,
    valueDeserializer: Deserializer<V>,
  ): TestOutputTopic<K, V> {
    return new TestOutputTopic(this, topic, keyDeserializer, valueDeserializer);
  }

  /** Moves wall-clock time forward and fires the wall-clock punctuators that became due. */
  advanceWallClockTime(ms: number): void {
    this.checkOpen();
    this.wallClock += ms;
    for (const task of this.tasks) task.punctuateWallClock(this.wallClock);
    this.collect();
  }

  /** Stream time: the highest record timestamp processed (by any subtopology's task). */
  get streamTime(): number {
    return Math.max(...this.tasks.map((t) => t.streamTime));
  }

  /** How many records processors dropped on purpose for `reason` (e.g. `late`), as the app's `droppedRecords`. */
  droppedRecords(reason: DropReason): number {
    return this.dropped.get(reason) ?? 0;
  }

  /** Names of topics that received output, in first-write order. */
  producedTopicNames(): string[] {
    return [...this.outputs.keys()];
  }

  /** Closes the topology and its stores, and deletes the state directory the driver made. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const task of this.tasks) task.close();
    try {
      await Promise.all(this.writes);
    } finally {
      for (const { state } of this.states) await state.close();
      await this.global?.close();
    }
    if (this.ownStateDir) rmSync(this.ownStateDir, { recursive: true, force: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** @internal */
  pipe(
    topic: string,
    key: Buffer | null,
    value: Buffer | null,
    timestamp: number,
    headers: RecordHeaders,
  ): void {
    this.checkOpen();
    if (this.global?.reads(topic)) this.updateGlobal(topic, key, value, timestamp, headers);
    else this.deliver(topic, key, value, timestamp, headers);
  }

  /** Applies a record of a global store's topic to that store, before any later input is processed. */
  private updateGlobal(
    ...[topic, key, value, timestamp, headers]: Parameters<TopologyTestDriver['pipe']>
  ): void {
    const global = this.global!;
    const offset = this.offsets.get(topic) ?? 0n;
    this.offsets.set(topic, offset + 1n);
    global.apply(topic, this.partition, [
      { offset: offset.toString(), key, value, timestamp, headers: { ...headers } },
    ]);
    if (global.needsCommit()) this.writes.push(global.commit());
  }

  /** Hands a record to the task that reads `topic`, processes it, and delivers what it wrote to internal topics. */
  private deliver(...[topic, key, value, timestamp, headers]: Parameters<TopologyTestDriver['pipe']>): void {
    const offset = this.offsets.get(topic) ?? 0n;
    this.offsets.set(topic, offset + 1n);
    const record: ConsumedRecord = {
      offset: offset.toString(),
      key,
      value,
      timestamp,
      headers: { ...headers },
    };
    const task = this.tasks[this.graph.subtopologyOfTopic.get(topic)!]!;
    task.addRecords(topic, [record], offset + 1n);
    let internal: OutgoingRecord[];
    try {
      task.process();
      // The driver commits after every input record, so processors that hold output back hand it on now.
      task.flush();
    } finally {
      internal = this.collect();
    }
    // Like the runtime, write the stores' caches through once they pass their bound (changelog acks are simulated).
    for (const { state } of this.states) if (state.needsCommit()) this.commitState(state);
    for (const r of internal)
      this.deliver(r.topic, r.key, r.value, r.timestamp ?? timestamp, r.headers ?? {});
  }

  private commitState(state: TaskState['state']): void {
    const acked = new Map<string, bigint>();
    for (const r of state.prepareCommit()) acked.set(`${r.topic}:${r.partition}`, this.changelogOffset++);
    // completeCommit takes the prepared writes synchronously; its LevelDB write finishes in the background and
    // close() waits for it (and reports its failure).
    this.writes.push(state.completeCommit(acked));
  }

  /** @internal the unread output of a topic. */
  queue(topic: string): OutgoingRecord[] {
    return this.outputs.get(topic) ?? [];
  }

  /** Files the collected output under its topics; returns the records written to internal topics, to deliver. */
  private collect(): OutgoingRecord[] {
    const internal: OutgoingRecord[] = [];
    for (const r of this.collector.drain()) {
      if (this.graph.subtopologyOfTopic.has(r.topic)) {
        internal.push(r);
        continue;
      }
      const q = this.outputs.get(r.topic);
      if (q) q.push(r);
      else this.outputs.set(r.topic, [r]);
    }
    return internal;
  }

  private checkOpen(): void {
    if (this.closed) throw new StreamsError('ILLEGAL_STATE', 'the test driver is closed');
    if ((this.states.length > 0 || this.global !== undefined) && !this.isOpen) {
      throw new StreamsError(
        'ILLEGAL_STATE',
        'create a driver for a stateful topology with `await TopologyTestDriver.create(...)`',
      );
    }
    if (this.needsPreparing && !this.prepared) {
      throw new StreamsError(
        'ILLEGAL_STATE',
        "the topology's serdes prepare before use (e.g. Avro serdes resolve their schema ids in their registry): " +
          'create the driver with `await TopologyTestDriver.create(...)`, which prepares them',
      );
    }
  }
}
