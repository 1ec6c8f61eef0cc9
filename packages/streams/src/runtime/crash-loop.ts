// Crash-loop decisions as pure functions: what a restart says about the record in flight, and how long to back off.
import type { RecordPosition } from '../errors.js';

/** Buffered input of one partition that a task was processing: offsets `from` to `to`, both included. */
export interface InFlightRange {
  topic: string;
  partition: number;
  from: string;
  to: string;
}

/** What a task was processing when the marker was written. */
export interface InFlight {
  task: string;
  ranges: InFlightRange[];
}

/** What the state volume remembers across runs of one instance. */
export interface CrashLoopRecord {
  /** Set while a run is under way; a start that finds it set follows a crash or a failed run. */
  running: boolean;
  /** When the recent unclean restarts happened (ms since the epoch), oldest first. */
  restarts: number[];
  /** The input in flight at the last crashes, and how many consecutive crashes happened within it. */
  suspect?: InFlight & { crashes: number };
}

export const EMPTY_RECORD: CrashLoopRecord = { running: false, restarts: [] };

function within(inner: InFlight, outer: InFlight): boolean {
  return (
    inner.task === outer.task &&
    inner.ranges.every((r) =>
      outer.ranges.some(
        (o) =>
          o.topic === r.topic &&
          o.partition === r.partition &&
          BigInt(r.from) >= BigInt(o.from) &&
          BigInt(r.to) <= BigInt(o.to),
      ),
    )
  );
}

/**
 * The record at the start of a run. `previous` as the last run left it, `inFlight` the marker it left (undefined when
 * it processed nothing at the time it ended). A run that did not stop cleanly counts as a restart (kept for
 * `windowMs`); when it died processing, the input in flight becomes the suspect: one more consecutive crash if it
 * lies within the previous suspect (the same input, or a narrower part of it), else the first.
 */
export function afterRestart(
  previous: CrashLoopRecord,
  inFlight: InFlight | undefined,
  now: number,
  windowMs: number,
): CrashLoopRecord {
  if (!previous.running) return { running: true, restarts: [] };
  const restarts = [...previous.restarts.filter((t) => now - t < windowMs), now];
  if (inFlight === undefined || inFlight.ranges.length === 0) {
    // It died elsewhere than in processing (or failed with an error): not a crash at the suspect.
    return { running: true, restarts };
  }
  const suspect = previous.suspect;
  const crashes = suspect !== undefined && within(inFlight, suspect) ? suspect.crashes + 1 : 1;
  return { running: true, restarts, suspect: { ...inFlight, crashes } };
}

/** The single record that crashed the process at least `maxCrashes` consecutive times, if narrowed down to one. */
export function poisonRecord(
  record: CrashLoopRecord,
  maxCrashes: number,
): (RecordPosition & { task: string; crashes: number }) | undefined {
  const s = record.suspect;
  if (s === undefined || s.crashes < maxCrashes || s.ranges.length !== 1) return undefined;
  const r = s.ranges[0]!;
  if (r.from !== r.to) return undefined;
  return { task: s.task, topic: r.topic, partition: r.partition, offset: r.from, crashes: s.crashes };
}

/**
 * Whether committed offsets (`topic:partition` → the next offset to read) have passed every range of the suspect:
 * its records were processed and committed, so it is no longer in question.
 */
export function committedPast(suspect: InFlight, committed: ReadonlyMap<string, bigint>): boolean {
  return suspect.ranges.every((r) => {
    const next = committed.get(`${r.topic}:${r.partition}`);
    return next !== undefined && next > BigInt(r.to);
  });
}

export interface Backoff {
  initialMs: number;
  maxMs: number;
}

/**
 * The delay before joining after `restarts` recent unclean restarts: 0 for none, else half of
 * min(maxMs, initialMs·2^(restarts−1)) plus a random part of up to the other half.
 */
export function restartDelayMs(
  restarts: number,
  backoff: Backoff,
  random: () => number = Math.random,
): number {
  if (restarts <= 0) return 0;
  const cap = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(restarts - 1, 30));
  return Math.round(cap / 2 + random() * (cap / 2));
}

/** `StreamsConfig.crashLoop`: protection against a record, or a deployment, that keeps crashing the process. */
export interface CrashLoopOptions {
  /** Consecutive crashes at the same input record after which `action` is taken. Default 3. */
  maxCrashes?: number;
  /**
   * At the start after the `maxCrashes`-th crash at one record: 'fail' (default) stops the app with POISON_RECORD;
   * 'dead-letter' writes the record to the dead-letter topic and skips it.
   */
  action?: 'dead-letter' | 'fail';
  /** Where 'dead-letter' writes; default the dead-letter topic of `processingErrors`. */
  deadLetterTopic?: string;
  /** Delay before joining the group after recent unclean restarts (ms). Default `{ initialMs: 1000, maxMs: 60000 }`. */
  restartBackoff?: Partial<Backoff>;
  /** How long an unclean restart counts as recent (ms). Default 600000. */
  restartWindowMs?: number;
}

export interface ResolvedCrashLoop {
  maxCrashes: number;
  action: 'dead-letter' | 'fail';
  deadLetterTopic: string | undefined;
  restartBackoff: Backoff;
  restartWindowMs: number;
}
