import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { jsonLogger } from '../src/logger.js';
import { CrashGuard } from '../src/runtime/crash-guard.js';
import {
  afterRestart,
  type CrashLoopRecord,
  committedPast,
  EMPTY_RECORD,
  type InFlight,
  poisonRecord,
  type ResolvedCrashLoop,
  restartDelayMs,
} from '../src/runtime/crash-loop.js';
import { TaskId } from '../src/runtime/task-id.js';

const WINDOW = 60_000;
const batch = (from: string, to: string): InFlight => ({
  task: '0_1',
  ranges: [{ topic: 'in', partition: 1, from, to }],
});

describe('afterRestart', () => {
  it('a start after a clean stop is no restart and forgets the suspect', () => {
    const previous: CrashLoopRecord = {
      running: false,
      restarts: [1, 2],
      suspect: { ...batch('0', '9'), crashes: 2 },
    };
    expect(afterRestart(previous, batch('0', '9'), 100, WINDOW)).toEqual({ running: true, restarts: [] });
  });

  it('counts unclean restarts within the window only', () => {
    const previous: CrashLoopRecord = { running: true, restarts: [1_000, 50_000] };
    expect(afterRestart(previous, undefined, 70_000, WINDOW).restarts).toEqual([50_000, 70_000]);
  });

  it('counts consecutive crashes while the input in flight narrows within the suspect, and starts over elsewhere', () => {
    let r = afterRestart({ ...EMPTY_RECORD, running: true }, batch('100', '199'), 1, WINDOW);
    expect(r.suspect).toEqual({ ...batch('100', '199'), crashes: 1 });
    r = afterRestart(r, batch('150', '150'), 2, WINDOW);
    expect(r.suspect).toEqual({ ...batch('150', '150'), crashes: 2 });
    r = afterRestart(r, batch('150', '150'), 3, WINDOW);
    expect(r.suspect?.crashes).toBe(3);
    // Another record: the first crash there.
    expect(afterRestart(r, batch('151', '151'), 4, WINDOW).suspect?.crashes).toBe(1);
    // Another task with the same ranges is not the same input.
    expect(afterRestart(r, { ...batch('150', '150'), task: '1_1' }, 4, WINDOW).suspect?.crashes).toBe(1);
    // A run that died outside processing breaks the series.
    expect(afterRestart(r, undefined, 4, WINDOW).suspect).toBeUndefined();
  });
});

describe('poisonRecord', () => {
  it('names the record only once narrowed to one offset with maxCrashes crashes', () => {
    const at = (from: string, to: string, crashes: number): CrashLoopRecord => ({
      running: true,
      restarts: [],
      suspect: { ...batch(from, to), crashes },
    });
    expect(poisonRecord(at('150', '150', 2), 3)).toBeUndefined();
    expect(poisonRecord(at('100', '199', 3), 3)).toBeUndefined();
    expect(poisonRecord(at('150', '150', 3), 3)).toEqual({
      task: '0_1',
      topic: 'in',
      partition: 1,
      offset: '150',
      crashes: 3,
    });
  });
});

describe('committedPast', () => {
  it('holds once every range of the suspect is below the committed offset', () => {
    const two: InFlight = {
      task: '0_1',
      ranges: [
        { topic: 'a', partition: 1, from: '5', to: '9' },
        { topic: 'b', partition: 1, from: '0', to: '3' },
      ],
    };
    expect(committedPast(two, new Map([['a:1', 10n]]))).toBe(false);
    expect(
      committedPast(
        two,
        new Map([
          ['a:1', 10n],
          ['b:1', 3n],
        ]),
      ),
    ).toBe(false);
    expect(
      committedPast(
        two,
        new Map([
          ['a:1', 10n],
          ['b:1', 4n],
        ]),
      ),
    ).toBe(true);
  });
});

describe('restartDelayMs', () => {
  const backoff = { initialMs: 100, maxMs: 1_000 };
  it('is 0 without restarts, doubles per restart up to maxMs, and is jittered within the upper half', () => {
    expect(restartDelayMs(0, backoff, () => 0.5)).toBe(0);
    expect([1, 2, 3, 4, 5, 6].map((n) => restartDelayMs(n, backoff, () => 1))).toEqual([
      100, 200, 400, 800, 1_000, 1_000,
    ]);
    expect(restartDelayMs(3, backoff, () => 0)).toBe(200);
    expect(restartDelayMs(1_000, backoff, () => 0)).toBe(500);
  });
});

describe('CrashGuard', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const options: ResolvedCrashLoop = {
    maxCrashes: 2,
    action: 'dead-letter',
    deadLetterTopic: 'dlq',
    restartBackoff: { initialMs: 100, maxMs: 1_000 },
    restartWindowMs: WINDOW,
  };
  const id = TaskId.of(0, 1);
  function open(stateDir: string) {
    return CrashGuard.open(options, { stateDir, applicationId: 'app', logger: jsonLogger('error') });
  }

  it('finds the record in flight across runs that end without closing, and clears it on a commit past it', () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'crash-guard-'));
    dirs.push(stateDir);
    // Run 1 dies processing a batch (the guard is dropped without a clean stop, as an exiting process drops it).
    let guard = open(stateDir);
    expect(guard.restartDelayMs()).toBe(0);
    let task = guard.forTask(id);
    expect(task.perRecord).toBe(false);
    task.enter([{ topic: 'in', from: '0', to: '9' }]);
    guard.close();
    // Run 2 marks every record of the task, and dies at offset 4.
    guard = open(stateDir);
    expect(guard.recentRestarts).toBe(1);
    expect(guard.suspect?.crashes).toBe(1);
    task = guard.forTask(id);
    expect(task.perRecord).toBe(true);
    expect(task.poison).toBeUndefined();
    task.enter([{ topic: 'in', from: '0', to: '9' }]);
    for (const o of ['0', '1', '2', '3', '4']) task.record('in', o);
    guard.close();
    // Run 3: two crashes at offset 4, the bound: it is the poison record.
    guard = open(stateDir);
    expect(guard.recentRestarts).toBe(2);
    expect(guard.poison).toMatchObject({ topic: 'in', partition: 1, offset: '4', crashes: 2 });
    expect(guard.forTask(id).poison).toMatchObject({ topic: 'in', offset: '4' });
    expect(guard.forTask(TaskId.of(0, 2)).poison).toBeUndefined();
    guard.committed([{ topic: 'in', partition: 1, offset: '4' }]);
    expect(guard.suspect).toBeDefined();
    guard.committed([{ topic: 'in', partition: 1, offset: '5' }]);
    expect(guard.suspect).toBeUndefined();
    expect(guard.forTask(id).poison).toBeUndefined();
    guard.stoppedCleanly();
    guard.close();
    guard.close();
    // After the clean stop: no restart, nothing suspect.
    guard = open(stateDir);
    expect(guard.recentRestarts).toBe(0);
    expect(guard.suspect).toBeUndefined();
    guard.close();
  });

  it('stream threads of one instance keep their own record and marker beside each other', () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'crash-guard-'));
    dirs.push(stateDir);
    const openAs = (threadSuffix: string) =>
      CrashGuard.open(options, { stateDir, applicationId: 'app', logger: jsonLogger('error'), threadSuffix });
    // Thread 2 dies in a batch; thread 1 stops cleanly.
    let one = openAs('');
    let two = openAs('.t2');
    two.forTask(id).enter([{ topic: 'in', from: '0', to: '9' }]);
    two.close();
    one.stoppedCleanly();
    one.close();
    expect(readdirSync(join(stateDir, 'app')).sort()).toEqual([
      'crash-loop.json',
      'crash-loop.t2.json',
      'in-flight',
      'in-flight.t2',
    ]);
    // Each finds its own run: thread 2 the batch it died in, thread 1 nothing.
    one = openAs('');
    two = openAs('.t2');
    expect(one.recentRestarts).toBe(0);
    expect(one.suspect).toBeUndefined();
    expect(two.recentRestarts).toBe(1);
    expect(two.suspect?.crashes).toBe(1);
    one.close();
    two.close();
  });

  it('a batch processed to its end leaves nothing in flight; the marker is overwritten in place', () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'crash-guard-'));
    dirs.push(stateDir);
    let guard = open(stateDir);
    const task = guard.forTask(id);
    task.enter([{ topic: 'a-long-topic-name', from: '1000000', to: '1999999' }]);
    task.leave();
    expect(JSON.parse(readFileSync(join(stateDir, 'app', 'in-flight'), 'utf8'))).toEqual({});
    guard.close();
    guard = open(stateDir);
    // Unclean (no stoppedCleanly), but not while processing: a restart, no suspect.
    expect(guard.recentRestarts).toBe(1);
    expect(guard.suspect).toBeUndefined();
    guard.close();
  });
});
