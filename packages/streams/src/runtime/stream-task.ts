// A stream task: the topology's nodes instantiated for one partition number, processing its buffered records
// synchronously in timestamp order, with per-task stream time, punctuation and the error modes applied.

import { DEFAULT_MAX_RECORD_BYTES } from '../config.js';
import { describePosition, errorMessage, type RecordPosition, StreamsError } from '../errors.js';
import type { ConsumedRecord, RecordHeaders } from '../kafka/port.js';
import type { Logger } from '../logger.js';
import { FEEDS_REPARTITION_TOPIC } from '../topology/context-facts.js';
import {
  type DropReason,
  dropReason,
  type Processor,
  type ProcessorContext,
  type StreamRecord,
} from '../topology/processor.js';
import type { NodeSpec, SealedTopology } from '../topology/topology.js';
import type { TaskInFlight } from './crash-guard.js';
import { deadLetter, deadLetterTopicOf, type ErrorMode } from './error-handling.js';
import { PartitionGroup, type QueuedRecord } from './partition-group.js';
import { type Cancellable, PunctuationQueue, type PunctuationType, type Punctuator } from './punctuation.js';
import type { RecordCollector } from './record-collector.js';
import { recordBytes } from './record-size.js';
import {
  decodeRepartitionSource,
  encodeRepartitionSource,
  MAX_RECORDS_PER_INPUT,
  parseUpstreamMarkTopic,
  REPARTITION_SOURCE_HEADER,
  readRepartitionSource,
  sourceKey,
  sourcePrefix,
  upstreamMarkTopic,
} from './repartition-header.js';
import type { TaskId } from './task-id.js';
import { RecordTracing, type TracingOptions } from './tracing.js';

type Forward = (record: StreamRecord<unknown, unknown>) => void;
type SourceSpec = Extract<NodeSpec, { kind: 'source' }>;

interface SourceNode {
  spec: SourceSpec;
  forward: Forward;
}

/** The state stores of a task, as the task uses them (implemented over a `TaskStateManager`). */
export interface TaskStores {
  store(name: string): unknown;
  /** Told before each input record, so stores can drop writes that replay already-stored input. */
  setSourcePosition(topic: string, partition: number, offset: number): void;
  /**
   * Told when that record is done (processed, or skipped by an error mode): only then does the stores' source
   * position cover it, and writes from outside a record (punctuators) are never taken for replays.
   */
  completeSourceRecord?(): void;
  /**
   * Raises the task's position for an upstream input partition seen through one repartition topic (`topic`, an
   * `upstreamMarkTopic` name, and `partition`) to `mark`: the stores then hold the effect of every record that input
   * wrote to that topic up to it (see repartition-header.ts).
   */
  advanceUpstream?(topic: string, partition: number, mark: number): void;
}

export interface TaskOptions {
  applicationId: string;
  /** The subtopology whose nodes this task runs, and the partition number it runs them for. */
  id: TaskId;
  graph: SealedTopology;
  collector: RecordCollector;
  /** Required when the topology has stores. */
  stores?: TaskStores;
  /** Per source topic, the offset up to which input is already in every store (see TaskManager): skipped. */
  replayedUpTo?: ReadonlyMap<string, number>;
  /**
   * Per upstream input partition and repartition topic (`<upstreamMarkTopic>:partition`), the mark up to which the
   * records that input wrote to that topic are already in the stores: copies at or below it (written again by a
   * replay) are skipped. Keys in another form are ignored.
   */
  upstreamMarks?: ReadonlyMap<string, number>;
  /** See `StreamsConfig.maxTaskIdleMs`; default 0. */
  maxTaskIdleMs?: number;
  deserializationErrors: ErrorMode;
  processingErrors: ErrorMode;
  logger: Logger;
  /** Wall-clock time source (the test driver replaces it). */
  clock?: () => number;
  /** Told of each record a processor dropped on purpose (`ProcessorContext.recordDropped`), or an error mode skipped. */
  onDropped?: (reason: DropReason) => void;
  /** The instance's global stores by name: every processor may read them. */
  globalStores?: ReadonlyMap<string, unknown>;
  /** Trace each record (see tracing.ts); off when undefined. */
  tracing?: TracingOptions;
  /** Marks the input in flight on the state volume (crash-loop protection); off when undefined. */
  inFlight?: TaskInFlight;
  /** Where a record that crashed the process too often is dead-lettered (`inFlight.poison`). */
  poisonDeadLetterTopic?: string;
  /** See `StreamsConfig.maxRecordBytes`; default DEFAULT_MAX_RECORD_BYTES. */
  maxRecordBytes?: number;
  /**
   * Told, per record a sink writes to an output topic (not a repartition topic), the clock's time minus the record's
   * timestamp (ms): the end-to-end latency metric. Called on the hot path: it must not allocate.
   */
  outputLatency?: { observe(ms: number): void };
}

export class StreamTask {
  readonly id: TaskId;
  readonly partition: number;
  private readonly sources = new Map<string, SourceNode>();
  private readonly processors: Processor<unknown, unknown, unknown, unknown>[] = [];
  private readonly input: PartitionGroup;
  private readonly punctuation = new PunctuationQueue();
  private readonly positions = new Map<string, string>();
  private readonly collector: RecordCollector;
  private readonly clock: () => number;
  private readonly outputLatency: TaskOptions['outputLatency'];
  /** The input record being processed; undefined during punctuation. */
  private current: { topic: string; record: ConsumedRecord; timestamp: number } | undefined;
  private time = Number.NEGATIVE_INFINITY;
  private commitRequested = false;
  private closed = false;
  /** Records consumed so far (read by metrics). */
  processedCount = 0;
  /** Records the current input record has written to repartition topics so far. */
  private repartitionSeq = 0;
  /**
   * Per input repartition topic of this task, then per upstream input partition (by `sourceKey`): the name of its
   * source mark and the mark up to which the records it wrote to that topic are in the stores (see
   * `TaskOptions.upstreamMarks`); raised as repartition records complete.
   */
  private readonly upstream = new Map<
    string,
    Map<string, { topic: string; partition: number; mark: number }>
  >();
  /** The `eddy.rp` prefix of each of this task's input topics (the partition is the task's). */
  private readonly prefixes = new Map<string, Buffer>();
  /** The record to dead-letter instead of processing (crash-loop protection), as of the running `process` call. */
  private poison: TaskInFlight['poison'];
  /** Set when tracing is on; its `active` says whether a tracer or propagator is registered right now. */
  private readonly tracing: RecordTracing | undefined;

  constructor(private readonly options: TaskOptions) {
    this.id = options.id;
    this.partition = options.id.partition;
    this.collector = options.collector;
    this.clock = options.clock ?? Date.now;
    this.outputLatency = options.outputLatency;
    this.tracing =
      options.tracing === undefined
        ? undefined
        : new RecordTracing(options.tracing, options.applicationId, options.id.toString());
    const forwards = new Map<string, Forward>();
    const subtopology = options.graph.subtopologies[options.id.subtopology];
    if (subtopology === undefined) {
      throw new StreamsError(
        'ILLEGAL_STATE',
        `task ${options.id} names a subtopology the topology does not have`,
      );
    }
    // Nodes are declared parents-first; wire them children-first so each forward closure exists when needed.
    for (const spec of [...subtopology.nodes].reverse()) {
      const kids = (options.graph.children.get(spec.name) ?? []).map((k) => ({
        name: k,
        forward: forwards.get(k)!,
      }));
      const toChildren: Forward = (r) => {
        for (const kid of kids) kid.forward(r);
      };
      if (spec.kind === 'source') {
        for (const topic of spec.topics) this.sources.set(topic, { spec, forward: toChildren });
        if (spec.repartitionTopic !== undefined)
          for (const topic of spec.topics) this.upstream.set(topic, new Map());
      } else if (spec.kind === 'sink') {
        forwards.set(spec.name, (r) => this.sink(spec, r));
      } else {
        const processor = spec.supplier();
        this.processors.push(processor);
        forwards.set(spec.name, (r) => processor.process(r));
        processor.init?.(this.contextFor(kids, spec.name));
      }
    }
    this.input = new PartitionGroup(this.sources.keys(), options.maxTaskIdleMs ?? 0);
    for (const [key, mark] of options.upstreamMarks ?? []) {
      const at = key.lastIndexOf(':');
      const topic = key.slice(0, at);
      const names = parseUpstreamMarkTopic(topic);
      if (names === undefined) continue;
      const positions = this.upstream.get(names.repartitionTopic);
      if (positions === undefined) continue;
      const partition = Number(key.slice(at + 1));
      positions.set(sourceKey(sourcePrefix(names.upstreamTopic, partition)), { topic, partition, mark });
    }
  }

  /** Stream time: the highest timestamp this task has processed. */
  get streamTime(): number {
    return this.time;
  }

  /** Records waiting to be processed. */
  get buffered(): number {
    return this.input.buffered;
  }

  /** The offset of the last record processed (or skipped) per source topic of this task's partition. */
  get consumedPositions(): ReadonlyMap<string, string> {
    return this.positions;
  }

  /** Records buffered for one input; the runtime pauses fetching an input whose buffer is too large. */
  bufferedOf(topic: string): number {
    return this.input.bufferedOf(topic);
  }

  /**
   * Buffers fetched records of one of this task's partitions. `logEndOffset` (the partition's high watermark as of
   * the fetch) tells the task whether more records are in the log, i.e. whether to wait for them; `lastOffset`, the
   * last offset the fetch covered (transaction markers after the last record included). A fetch that found nothing
   * comes with no records: it tells the task that the input is caught up. Until a fetch has told either, the task
   * waits for an empty input (see `StreamsConfig.maxTaskIdleMs`). `fetchedThrough`, the last offset the fetch
   * returned: the consumed position moves past markers up to it. Returns true when that moved the position at once
   * (nothing of the input was buffered).
   */
  addRecords(
    topic: string,
    records: ConsumedRecord[],
    logEndOffset?: bigint | string,
    lastOffset?: bigint | string,
    fetchedThrough?: bigint | string,
  ): boolean {
    const source = this.sources.get(topic);
    if (!source) throw new StreamsError('ILLEGAL_STATE', `task ${this.id} has no source for topic ${topic}`);
    const extract = source.spec.timestampExtractor;
    const through = this.input.add(
      topic,
      records.map((record) => ({
        topic,
        record,
        timestamp: extract ? extract(record, topic) : record.timestamp,
      })),
      logEndOffset === undefined ? undefined : BigInt(logEndOffset),
      lastOffset === undefined ? undefined : BigInt(lastOffset),
      fetchedThrough === undefined ? undefined : BigInt(fetchedThrough),
    );
    if (through === undefined) return false;
    const consumed = this.positions.get(topic);
    if (consumed !== undefined && BigInt(consumed) >= through) return false;
    this.positions.set(topic, through.toString());
    return true;
  }

  /**
   * True when the task may process at wall-clock time `now`: it has buffered records and no input it must wait
   * for (see `StreamsConfig.maxTaskIdleMs`).
   */
  readyToProcess(now = this.clock()): boolean {
    return this.input.readyToProcess(now);
  }

  /** While the task waits for a caught-up input: the wall-clock time at which it goes on without it. */
  get idleUntil(): number | undefined {
    return this.input.idleUntil;
  }

  /**
   * Processes buffered records in timestamp order while the task is ready (`readyToProcess(now)`) and
   * `shouldContinue()` holds, firing stream-time punctuators as stream time advances. Stops rather than take a
   * record out of order while an input must be waited for. Returns how many records were consumed. A failure
   * whose mode is `fail` is thrown as a StreamsError; the failing record is then neither consumed nor partly
   * output.
   */
  process(shouldContinue: () => boolean = () => true, now = this.clock()): number {
    this.tracing?.refresh();
    const inFlight = this.options.inFlight;
    // Read once per call: both change only at a commit, never while the task processes.
    const perRecord = inFlight?.perRecord === true;
    this.poison = inFlight?.poison;
    let consumed = 0;
    let entered = false;
    try {
      while (this.input.readyToProcess(now)) {
        if (inFlight !== undefined && !entered) {
          // One marker write per call, unless a crash happened within this task's input: then one per record.
          inFlight.enter(this.input.bufferedRanges());
          entered = true;
        }
        const item = this.input.next();
        if (item === undefined) break;
        if (perRecord) inFlight!.record(item.topic, item.record.offset);
        this.processOne(item);
        // Past the markers that followed this record in its fetch, once the record itself is consumed.
        if (item.through !== undefined && this.positions.get(item.topic) === item.record.offset) {
          this.positions.set(item.topic, item.through);
        }
        consumed++;
        if (!shouldContinue()) break;
      }
    } finally {
      if (entered) inFlight?.leave();
    }
    this.processedCount += consumed;
    return consumed;
  }

  /** Fires the wall-clock punctuators that are due. */
  punctuateWallClock(now = this.clock()): number {
    this.tracing?.refresh();
    return this.punctuation.fire('wall-clock', now, (p, t) => this.punctuate(p, t));
  }

  /**
   * Lets processors forward what they held back (`Processor.flush`), parents first; called before every commit. A
   * failure is handled like a punctuator's.
   */
  flush(): void {
    this.tracing?.refresh();
    // `processors` was filled children-first.
    for (let i = this.processors.length - 1; i >= 0; i--) {
      const p = this.processors[i]!;
      if (p.flush !== undefined) this.punctuate(() => p.flush!(), this.time, 'the flush of a processor');
    }
  }

  /** True once, after a processor asked for a commit. */
  takeCommitRequest(): boolean {
    const r = this.commitRequested;
    this.commitRequested = false;
    return r;
  }

  /** Forgets the buffered records and the position of a revoked source partition. */
  revoke(topic: string): void {
    this.input.clear(topic);
    this.positions.delete(topic);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.input.clear();
    for (const p of this.processors) p.close?.();
  }

  private processOne(item: QueuedRecord): void {
    const offset = Number(item.record.offset);
    // After a rebalance the client fetches a partition this task kept from its last committed offset again: the
    // records up to the task's own position are already in its state and output.
    const consumed = this.positions.get(item.topic);
    if (consumed !== undefined && offset <= Number(consumed)) return;
    const replayed = this.options.replayedUpTo?.get(item.topic);
    if (replayed !== undefined && offset <= replayed) {
      this.positions.set(item.topic, item.record.offset);
      if (item.timestamp > this.time) this.time = item.timestamp;
      return;
    }
    const upstream = this.upstreamOf(item);
    if (upstream !== undefined && upstream.mark <= upstream.position.mark) {
      // A copy a replay of the upstream input wrote again: its effect is already in the stores.
      this.positions.set(item.topic, item.record.offset);
      return;
    }
    const poison = this.poison;
    if (poison !== undefined && poison.topic === item.topic && poison.offset === item.record.offset) {
      this.skipPoison(item, poison.crashes);
      this.options.stores?.completeSourceRecord?.();
      this.positions.set(item.topic, item.record.offset);
      return;
    }
    this.current = item;
    this.repartitionSeq = 0;
    let processed: boolean;
    const tracing = this.tracing?.active ? this.tracing : undefined;
    if (tracing === undefined) {
      try {
        processed = this.runThroughTopology(item);
      } finally {
        this.current = undefined;
      }
    } else {
      tracing.start(item.topic, this.partition, item.record);
      try {
        processed = tracing.run(() => this.runThroughTopology(item));
      } catch (error) {
        tracing.fail(error);
        throw error;
      } finally {
        this.current = undefined;
        tracing.end();
      }
    }
    // Not reached when a `fail` mode error was thrown: the record then counts as not consumed.
    this.options.stores?.completeSourceRecord?.();
    if (upstream !== undefined) {
      const position = upstream.position;
      position.mark = upstream.mark;
      this.options.stores?.advanceUpstream?.(position.topic, position.partition, upstream.mark);
    }
    this.positions.set(item.topic, item.record.offset);
    if (processed && item.timestamp > this.time) {
      this.time = item.timestamp;
      this.punctuation.fire('stream-time', item.timestamp, (p, t) => this.punctuate(p, t));
    }
  }

  /**
   * The upstream input partition a record of a repartition topic came from (its position for that topic here,
   * created on first sight) and the record's mark; undefined for other records and for records without a readable header.
   */
  private upstreamOf(
    item: QueuedRecord,
  ): { position: { topic: string; partition: number; mark: number }; mark: number } | undefined {
    const positions = this.upstream.get(item.topic);
    if (positions === undefined) return undefined;
    const header = item.record.headers[REPARTITION_SOURCE_HEADER];
    const read = readRepartitionSource(header);
    if (read === undefined) return undefined;
    let position = positions.get(read.key);
    if (position === undefined) {
      const source = decodeRepartitionSource(header)!;
      position = {
        topic: upstreamMarkTopic(item.topic, source.topic),
        partition: source.partition,
        mark: -1,
      };
      positions.set(read.key, position);
    }
    return { position, mark: read.mark };
  }

  /** Returns true when the record went through, false when an error mode skipped it; throws in `fail` mode. */
  private runThroughTopology({ topic, record, timestamp }: QueuedRecord): boolean {
    const source = this.sources.get(topic)!;
    const mark = this.collector.mark();
    this.options.stores?.setSourcePosition(topic, this.partition, Number(record.offset));
    if (!Number.isFinite(timestamp) || timestamp < 0) {
      this.handle(
        this.error('PROCESSING_FAILED', `record ${this.where()} has invalid timestamp ${timestamp}`),
        'processing',
      );
      return false;
    }
    let key: unknown;
    let value: unknown;
    try {
      key = source.spec.keySerde.deserialize(record.key);
      value = source.spec.valueSerde.deserialize(record.value);
    } catch (cause) {
      const message = `record ${this.where()} could not be deserialized by source "${source.spec.name}": ${errorMessage(cause)}`;
      this.handle(this.error('DESERIALIZATION_FAILED', message, cause), 'deserialization');
      return false;
    }
    let headers = record.headers;
    if (headers[REPARTITION_SOURCE_HEADER] !== undefined) {
      // The repartition position is the runtime's, not the record's: the topology does not see it, and one that a
      // producer put on an input record never reaches a repartition topic (where it would mark records as replays).
      headers = withoutRepartitionSource(headers);
    }
    if (this.tracing?.active) headers = this.tracing.incoming(headers);
    try {
      source.forward({ key, value, timestamp, headers });
      return true;
    } catch (cause) {
      // Outputs the record produced before it failed are taken back: a record is output whole or not at all.
      this.collector.rollback(mark);
      const error =
        cause instanceof StreamsError
          ? cause
          : this.error(
              'PROCESSING_FAILED',
              `processing record ${this.where()} failed: ${errorMessage(cause)}`,
              cause,
            );
      this.handle(error, 'processing');
      return false;
    }
  }

  private error(
    code: 'PROCESSING_FAILED' | 'DESERIALIZATION_FAILED',
    message: string,
    cause?: unknown,
  ): StreamsError {
    return new StreamsError(code, message, { cause, position: this.position() });
  }

  /** Applies the error mode of `kind`: throws the error (`fail`), or logs it and writes a dead letter if asked. */
  private handle(error: StreamsError, kind: 'processing' | 'deserialization'): void {
    const mode = kind === 'processing' ? this.options.processingErrors : this.options.deserializationErrors;
    if (mode === 'fail') throw error;
    if (this.tracing?.active) this.tracing.fail(error);
    const dlq = deadLetterTopicOf(mode);
    if (this.current) this.options.onDropped?.(dlq ? 'dead-lettered' : 'error');
    this.options.logger.warn(`skipped after a ${kind} error`, {
      code: error.code,
      error: error.message,
      task: this.id.toString(),
      ...(dlq ? { deadLetterTopic: dlq } : {}),
    });
    if (dlq && this.current) this.collector.add(deadLetter(dlq, this.current.record, this.position(), error));
  }

  /** Writes a record that crashed the process `crashes` times in a row to the dead-letter topic, instead of processing it. */
  private skipPoison(item: QueuedRecord, crashes: number): void {
    const topic = this.options.poisonDeadLetterTopic;
    const position = { topic: item.topic, partition: this.partition, offset: item.record.offset };
    const error = new StreamsError(
      'POISON_RECORD',
      `record ${describePosition(position)} crashed the process ${crashes} times in a row`,
      { position },
    );
    this.options.onDropped?.('dead-lettered');
    this.options.logger.warn('skipped a record that crashed the process repeatedly', {
      code: error.code,
      task: this.id.toString(),
      ...position,
      crashes,
      ...(topic === undefined ? {} : { deadLetterTopic: topic }),
    });
    if (topic !== undefined) this.collector.add(deadLetter(topic, item.record, position, error));
  }

  private punctuate(punctuator: Punctuator, time: number, what = 'a punctuator'): void {
    const mark = this.collector.mark();
    try {
      punctuator(time);
    } catch (cause) {
      this.collector.rollback(mark);
      const error =
        cause instanceof StreamsError
          ? cause
          : new StreamsError(
              'PROCESSING_FAILED',
              `${what} of task ${this.id} failed: ${errorMessage(cause)}`,
              { cause },
            );
      this.handle(error, 'processing');
    }
  }

  private position(): RecordPosition {
    const c = this.current;
    return c
      ? { topic: c.topic, partition: this.partition, offset: c.record.offset }
      : { topic: '', partition: this.partition, offset: '-1' };
  }

  private where(): string {
    return describePosition(this.position());
  }

  private sink(spec: Extract<NodeSpec, { kind: 'sink' }>, r: StreamRecord<unknown, unknown>): void {
    let key: Buffer | null;
    let value: Buffer | null;
    try {
      key = spec.keySerde.serialize(r.key);
      value = spec.valueSerde.serialize(r.value);
    } catch (cause) {
      throw new StreamsError(
        'SERIALIZATION_FAILED',
        `sink "${spec.name}" could not serialize the output of ${this.current ? this.where() : `a punctuator of task ${this.id}`}: ${errorMessage(cause)}`,
        { cause, position: this.position() },
      );
    }
    const topic = typeof spec.topic === 'function' ? spec.topic(r) : spec.topic;
    let headers = this.tracing?.active ? this.tracing.outgoing(r.headers) : r.headers;
    const c = this.current;
    if (
      spec.repartitionTopic !== undefined &&
      c !== undefined &&
      this.repartitionSeq < MAX_RECORDS_PER_INPUT
    ) {
      let prefix = this.prefixes.get(c.topic);
      if (prefix === undefined) {
        prefix = sourcePrefix(c.topic, this.partition);
        this.prefixes.set(c.topic, prefix);
      }
      const position = encodeRepartitionSource(prefix, Number(c.record.offset), this.repartitionSeq++);
      headers = isEmpty(headers)
        ? { 'eddy.rp': position }
        : { ...headers, [REPARTITION_SOURCE_HEADER]: position };
    }
    const bytes = recordBytes({ key, value, headers });
    const maxBytes = this.options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
    if (bytes > maxBytes) {
      throw new StreamsError(
        'RECORD_TOO_LARGE',
        `sink "${spec.name}" would write a record of ${bytes} bytes to ${topic}, more than maxRecordBytes ${maxBytes}, ` +
          `for ${this.current ? this.where() : `a punctuator of task ${this.id}`}`,
        { position: this.position() },
      );
    }
    const partition = spec.partitioner?.(r);
    this.collector.add(
      partition === undefined
        ? { topic, key, value, timestamp: r.timestamp, headers }
        : { topic, partition, key, value, timestamp: r.timestamp, headers },
    );
    if (this.outputLatency !== undefined && spec.repartitionTopic === undefined) {
      this.outputLatency.observe(this.clock() - r.timestamp);
    }
  }

  private contextFor(
    kids: { name: string; forward: Forward }[],
    processorName: string,
  ): ProcessorContext & { [FEEDS_REPARTITION_TOPIC]: boolean } {
    const task = this;
    const connected = new Set(
      this.options.graph.stores.filter((st) => st.processors.has(processorName)).map((st) => st.name),
    );
    return {
      [FEEDS_REPARTITION_TOPIC]: this.options.graph.feedsRepartitionTopic.has(processorName),
      applicationId: this.options.applicationId,
      taskId: this.id.toString(),
      get topic() {
        return task.current?.topic ?? '';
      },
      get partition() {
        return task.partition;
      },
      get offset() {
        return task.current?.record.offset ?? '-1';
      },
      get streamTime() {
        return task.time;
      },
      currentWallClockTime: () => task.clock(),
      forward(record, childName) {
        if (childName === undefined) {
          for (const kid of kids) kid.forward(record);
          return;
        }
        const kid = kids.find((k) => k.name === childName);
        if (!kid) throw new StreamsError('INVALID_TOPOLOGY', `forward to unknown child "${childName}"`);
        kid.forward(record);
      },
      schedule(intervalMs: number, type: PunctuationType, punctuator: Punctuator): Cancellable {
        if (!Number.isFinite(intervalMs) || intervalMs < 1) {
          throw new StreamsError(
            'INVALID_TOPOLOGY',
            `punctuation interval must be at least 1 ms, got ${intervalMs}`,
          );
        }
        if (type !== 'stream-time' && type !== 'wall-clock') {
          throw new StreamsError(
            'INVALID_TOPOLOGY',
            `punctuation type must be 'stream-time' or 'wall-clock', got ${String(type)}`,
          );
        }
        const now = type === 'wall-clock' ? task.clock() : Number.isFinite(task.time) ? task.time : undefined;
        return task.punctuation.schedule(intervalMs, type, punctuator, now);
      },
      getStateStore<S>(name: string): S {
        if (!connected.has(name)) {
          const global = task.options.globalStores?.get(name);
          if (global !== undefined) return global as S;
          throw new StreamsError(
            'INVALID_TOPOLOGY',
            `store "${name}" is not connected to processor "${processorName}"`,
          );
        }
        if (!task.options.stores)
          throw new StreamsError('ILLEGAL_STATE', `task ${task.id} has no state stores`);
        return task.options.stores.store(name) as S;
      },
      requestCommit() {
        task.commitRequested = true;
      },
      recordDropped(reason: DropReason) {
        task.options.onDropped?.(dropReason(reason));
      },
    };
  }
}

function isEmpty(headers: RecordHeaders): boolean {
  for (const _ in headers) return false;
  return true;
}

/** The headers without the repartition position (built anew: deleting a key would slow the object down). */
function withoutRepartitionSource(headers: RecordHeaders): RecordHeaders {
  const out: RecordHeaders = {};
  for (const name in headers) if (name !== REPARTITION_SOURCE_HEADER) out[name] = headers[name]!;
  return out;
}
