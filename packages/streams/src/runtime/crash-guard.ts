// Keeps the crash-loop record and the marker of the input in flight on the state volume, across process runs.
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { ResolvedConfig } from '../config.js';
import { errorMessage, type RecordPosition } from '../errors.js';
import type { TopicPartitionOffset } from '../kafka/port.js';
import {
  afterRestart,
  type CrashLoopRecord,
  committedPast,
  EMPTY_RECORD,
  type InFlight,
  poisonRecord,
  type ResolvedCrashLoop,
  restartDelayMs,
} from './crash-loop.js';
import type { TaskId } from './task-id.js';

/** What a task tells the guard while it processes (see `StreamTask.process`). */
export interface TaskInFlight {
  /** True while every record is marked on its own: a crash happened within this task's input. */
  readonly perRecord: boolean;
  /** The task starts processing its buffered input: per input topic, the first and last buffered offset. */
  enter(ranges: { topic: string; from: string; to: string }[]): void;
  /** The task starts processing one record (only while `perRecord`). */
  record(topic: string, offset: string): void;
  /** The task processed what it entered with, or stopped with an error it reported: nothing is in flight. */
  leave(): void;
  /** The record that crashed the process too often, to be dead-lettered and skipped; undefined for none. */
  readonly poison: { topic: string; offset: string; crashes: number } | undefined;
}

// A stream thread k > 1 of a threaded app keeps its own (`crash-loop.t<k>.json`, `in-flight.t<k>`).
const RECORD_FILE = 'crash-loop';
const MARKER_FILE = 'in-flight';
const IDLE = '{}';

/**
 * One run's view of the crash-loop record. The marker is written without fsync: it has to survive the process (an
 * exit, an OOM kill, a native crash), whose written pages the kernel keeps, not the machine; a machine crash loses at
 * most the last marker, which delays the protection by one crash.
 */
export class CrashGuard {
  private fd: number | undefined;
  private markerLength = 0;
  private record: CrashLoopRecord;
  private poisoned: ReturnType<typeof poisonRecord>;
  private readonly dir: string;
  private readonly recordFile: string;

  private constructor(
    private readonly options: ResolvedCrashLoop,
    config: Pick<ResolvedConfig, 'stateDir' | 'applicationId' | 'logger'> &
      Partial<Pick<ResolvedConfig, 'threadSuffix'>>,
    now: number,
  ) {
    this.dir = join(config.stateDir, config.applicationId);
    const suffix = config.threadSuffix ?? '';
    this.recordFile = `${RECORD_FILE}${suffix}.json`;
    const markerFile = `${MARKER_FILE}${suffix}`;
    mkdirSync(this.dir, { recursive: true });
    const previous = readJson<CrashLoopRecord>(join(this.dir, this.recordFile), config) ?? EMPTY_RECORD;
    const marker = readJson<Partial<InFlight>>(join(this.dir, markerFile), config);
    const inFlight =
      marker?.task !== undefined && Array.isArray(marker.ranges) ? (marker as InFlight) : undefined;
    this.record = afterRestart(previous, inFlight, now, options.restartWindowMs);
    this.poisoned = poisonRecord(this.record, options.maxCrashes);
    this.save();
    this.fd = openSync(join(this.dir, markerFile), 'w');
    this.mark(IDLE);
  }

  /** Reads what the last runs left on the volume and marks this run as under way. */
  static open(
    options: ResolvedCrashLoop,
    config: Pick<ResolvedConfig, 'stateDir' | 'applicationId' | 'logger'> &
      Partial<Pick<ResolvedConfig, 'threadSuffix'>>,
    now = Date.now(),
  ): CrashGuard {
    return new CrashGuard(options, config, now);
  }

  /** Unclean restarts within the window, this one included. */
  get recentRestarts(): number {
    return this.record.restarts.length;
  }

  /** How long this run waits before joining the group (random within its bounds). */
  restartDelayMs(random: () => number = Math.random): number {
    return restartDelayMs(this.recentRestarts, this.options.restartBackoff, random);
  }

  /** The input in flight at the last consecutive crashes, with their count; undefined when none. */
  get suspect(): CrashLoopRecord['suspect'] {
    return this.record.suspect;
  }

  /** The record that crashed the process `maxCrashes` consecutive times, if any. */
  get poison(): (RecordPosition & { task: string; crashes: number }) | undefined {
    return this.poisoned;
  }

  forTask(id: TaskId): TaskInFlight {
    const task = id.toString();
    const partition = id.partition;
    const guard = this;
    return {
      get perRecord() {
        return guard.record.suspect?.task === task;
      },
      enter(ranges) {
        guard.mark(JSON.stringify({ task, ranges: ranges.map((r) => ({ ...r, partition })) }));
      },
      record(topic, offset) {
        guard.mark(JSON.stringify({ task, ranges: [{ topic, partition, from: offset, to: offset }] }));
      },
      leave() {
        guard.mark(IDLE);
      },
      get poison() {
        const p = guard.poisoned;
        return p?.task === task && guard.options.action === 'dead-letter' ? p : undefined;
      },
    };
  }

  /** Offsets were committed: a suspect they passed is cleared (its records were processed after all). */
  committed(offsets: readonly TopicPartitionOffset[]): void {
    const suspect = this.record.suspect;
    if (suspect === undefined || offsets.length === 0) return;
    const next = new Map(offsets.map((o) => [`${o.topic}:${o.partition}`, BigInt(o.offset)]));
    if (!committedPast(suspect, next)) return;
    const { suspect: _, ...rest } = this.record;
    this.record = rest;
    this.poisoned = undefined;
    this.save();
  }

  /** The run ends cleanly (closed without a failure): the next start is no restart after a crash. */
  stoppedCleanly(): void {
    this.record = { running: false, restarts: [] };
    this.save();
    this.mark(IDLE);
  }

  /** Closes the marker; what was recorded stays. Idempotent. */
  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }

  /** Overwrites the marker in place with one write; padding keeps a shorter text from leaving a longer one's tail. */
  private mark(text: string): void {
    if (this.fd === undefined) return;
    const padded = text.length < this.markerLength ? text.padEnd(this.markerLength) : text;
    this.markerLength = padded.length;
    writeSync(this.fd, padded, 0);
  }

  private save(): void {
    const path = join(this.dir, this.recordFile);
    writeFileSync(`${path}.tmp`, JSON.stringify(this.record));
    renameSync(`${path}.tmp`, path);
  }
}

function readJson<T>(path: string, config: Pick<ResolvedConfig, 'logger'>): T | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    config.logger.warn('ignoring an unreadable crash-loop file', { path, error: errorMessage(err) });
    return undefined;
  }
}
