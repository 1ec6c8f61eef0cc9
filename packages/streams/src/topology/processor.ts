// The Processor API: what a user's processor implements and what its context offers.
import type { RecordHeaders } from '../kafka/port.js';
import type { Cancellable, PunctuationType, Punctuator } from '../runtime/punctuation.js';

/**
 * Why a record was dropped: the `reason` of `droppedRecords` and of `eddy_records_dropped_total`. A fixed set, so
 * that the metric's series stay few whatever processors pass; `other` is for a processor's own reasons.
 */
export const DROP_REASONS = [
  'late',
  'expired',
  'invalid-timestamp',
  'null-key-or-value',
  'null-value',
  'null-foreign-key',
  'stale-fk-response',
  'error',
  'dead-lettered',
  'other',
] as const;

export type DropReason = (typeof DROP_REASONS)[number];

const KNOWN_REASONS: ReadonlySet<string> = new Set(DROP_REASONS);

/** `reason` when it is a `DropReason`, else `other` (a caller outside the types, e.g. plain JavaScript). */
export function dropReason(reason: string): DropReason {
  return KNOWN_REASONS.has(reason) ? (reason as DropReason) : 'other';
}

/** A record flowing through a topology. */
export interface StreamRecord<K, V> {
  key: K;
  value: V;
  /** Milliseconds since the epoch. */
  timestamp: number;
  headers: RecordHeaders;
}

/** What a processor can see of the task and the input record being processed, and how it emits output. */
export interface ProcessorContext<KOut = unknown, VOut = unknown> {
  readonly applicationId: string;
  /** `<subtopology>_<partition>`, e.g. `0_3`. */
  readonly taskId: string;
  /** Topic, partition and offset of the input record being processed. */
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  /** The highest record timestamp this task has processed (-Infinity before the first). */
  readonly streamTime: number;
  currentWallClockTime(): number;
  /**
   * Calls `punctuator` every `intervalMs` of stream time (advanced by record timestamps) or of wall-clock time.
   * If time jumps over several intervals, it is called once.
   */
  schedule(intervalMs: number, type: PunctuationType, punctuator: Punctuator): Cancellable;
  /** Sends a record to all children, or to the named child only. */
  forward(record: StreamRecord<KOut, VOut>, childName?: string): void;
  /**
   * The task's instance of a state store connected to this processor (see `Topology.addStateStore`).
   * Throws INVALID_TOPOLOGY for a store that is unknown or not connected to it.
   */
  getStateStore<S>(name: string): S;
  /** Asks the runtime to commit as soon as the current batch is done. */
  requestCommit(): void;
  /**
   * Counts a record the processor dropped on purpose (e.g. `late`: it arrived after its window closed) in the app's
   * `droppedRecords` metric, by reason: one of `DROP_REASONS` (`other` for a processor's own); any other string
   * counts as `other`.
   */
  recordDropped(reason: DropReason): void;
}

export interface Processor<KIn, VIn, KOut = KIn, VOut = VIn> {
  init?(context: ProcessorContext<KOut, VOut>): void;
  process(record: StreamRecord<KIn, VIn>): void;
  /**
   * Called before each commit of the task (and by the test driver after each input record), parents before
   * children: a processor that holds back output (e.g. folds updates of a key) forwards it here, so that it is part
   * of the commit. Records forwarded here are not tied to an input record.
   */
  flush?(): void;
  close?(): void;
}

/** Creates a fresh processor for each task: processors hold per-task state and are never shared. */
export type ProcessorSupplier<KIn, VIn, KOut = KIn, VOut = VIn> = () => Processor<KIn, VIn, KOut, VOut>;

/** The timestamp a source gives a record; by default the record's own (create or log-append) timestamp. */
export type TimestampExtractor = (
  record: { key: Buffer | null; value: Buffer | null; timestamp: number; headers: RecordHeaders },
  topic: string,
) => number;

/** Picks a sink's topic per record. */
export type TopicNameExtractor<K, V> = (record: StreamRecord<K, V>) => string;
