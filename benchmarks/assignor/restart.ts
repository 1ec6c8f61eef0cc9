// restart.*: from process start to processing again for a static member with 1,000,000 keys of state, restarted on
// an empty state directory (full restore from the changelog) and on its own state directory (checkpointed state).

import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { changelogTopic } from '@eddy/state';
import { Kafka, logLevel } from 'kafkajs';
import { createWordCountTopics, fillChangelog } from '../support/changelog-fill.js';
import { removeByPrefix } from '../support/cleanup.js';
import type { Figure } from '../support/results.js';
import type { RestartTimeline } from './restart-app.js';

const CHILD = fileURLToPath(new URL('./restart-app.ts', import.meta.url));
const INPUTS_PER_RUN = 5;
const FIRST_RECORD_TIMEOUT_MS = 120_000;

export interface RestartOptions {
  brokers: string[];
  /** Keys of state the member holds (changelog records). */
  records: number;
  /** Pairs of restarts (empty state, then local state); the figures are their medians. */
  rounds: number;
}

/** One measured start: its timeline relative to the moment before spawn (ms), and the records it restored. */
interface StartRun {
  kind: 'empty-state' | 'local-state';
  spawnToProcessStart: number;
  toLoaded: number;
  toStarted: number | undefined;
  toRunning: number | undefined;
  toFirstProcessed: number;
  restoreMs: number | undefined;
  restored: number;
}

export async function measureRestart(options: RestartOptions): Promise<Figure[]> {
  const run = randomUUID().slice(0, 8);
  const applicationId = `bench-restart-${run}`;
  const input = `${applicationId}-words`;
  const output = `${applicationId}-counts`;
  const changelog = changelogTopic(applicationId, 'counts');
  const kafka = new Kafka({ clientId: 'bench-restart', brokers: options.brokers, logLevel: logLevel.ERROR });
  const admin = kafka.admin();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  const stateDirs: string[] = [];
  await admin.connect();
  await producer.connect();
  let sent = 0;
  const produceInputs = async (): Promise<void> => {
    const messages = Array.from({ length: INPUTS_PER_RUN }, () => ({
      key: `word-${String(sent++).padStart(10, '0')}-${'k'.repeat(32)}`,
      value: 'x',
    }));
    await producer.send({ topic: input, acks: -1, messages });
  };
  const startOnce = async (kind: StartRun['kind'], stateDir: string): Promise<StartRun> => {
    await produceInputs();
    const before = Date.now();
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--conditions=eddy-source',
        CHILD,
        applicationId,
        input,
        output,
        stateDir,
        'restart-0',
      ],
      {
        env: { ...process.env, KAFKA_BROKERS: options.brokers.join(',') },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let t: RestartTimeline;
    try {
      t = await firstLine(child);
    } catch (err) {
      child.kill('SIGKILL');
      throw err;
    }
    await stop(child);
    const since = (at: number | undefined) => (at === undefined ? undefined : at - before);
    return {
      kind,
      spawnToProcessStart: t.processStart - before,
      toLoaded: t.loaded - before,
      toStarted: since(t.started),
      toRunning: since(t.running),
      toFirstProcessed: (t.firstProcessed ?? Number.NaN) - before,
      restoreMs:
        t.restoreStart !== undefined && t.restoreEnd !== undefined
          ? t.restoreEnd - t.restoreStart
          : undefined,
      restored: t.restored,
    };
  };

  try {
    await createWordCountTopics(admin, { input, output, changelog });
    // Marks of -1: the state covers no input yet, so the inputs produced below are all processed.
    await fillChangelog(kafka, {
      topic: changelog,
      records: options.records,
      sourceTopic: input,
      markOffset: () => -1,
    });
    const runs: StartRun[] = [];
    for (let round = 0; round < options.rounds; round++) {
      const stateDir = mkdtempSync(join(tmpdir(), 'eddy-bench-restart-'));
      stateDirs.push(stateDir);
      runs.push(await startOnce('empty-state', stateDir));
      runs.push(await startOnce('local-state', stateDir));
    }
    for (const r of runs) process.stdout.write(`${describe(r)}\n`);
    // Besides the fill, the changelog holds only the counts of the inputs processed so far.
    for (const r of runs) {
      if (r.kind === 'empty-state' && r.restored < options.records) {
        throw new Error(`an empty-state start restored ${r.restored} of ${options.records} records`);
      }
      if (r.kind === 'local-state' && r.restored > sent) {
        throw new Error(`a local-state start restored ${r.restored} records: its checkpoint was not used`);
      }
    }
    const median = (kind: StartRun['kind']) =>
      medianOf(runs.filter((r) => r.kind === kind).map((r) => r.toFirstProcessed));
    const local = median('local-state');
    const empty = median('empty-state');
    return [
      { name: 'restart.local-state.seconds', value: round3(local / 1000), unit: 's' },
      { name: 'restart.empty-state.seconds', value: round3(empty / 1000), unit: 's' },
      { name: 'restart.empty-vs-local.ratio', value: Number((empty / local).toFixed(2)), unit: 'x' },
    ];
  } finally {
    await producer.disconnect();
    await removeByPrefix(admin, applicationId);
    await admin.disconnect();
    for (const dir of stateDirs) rmSync(dir, { recursive: true, force: true });
  }
}

/** The child's timeline line, printed once it has processed its first record. */
function firstLine(child: ChildProcess): Promise<RestartTimeline> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const onExit = (code: number | null) =>
      reject(new Error(`restart-app exited with ${code} before processing`));
    const timer = setTimeout(
      () => reject(new Error(`restart-app did not process within ${FIRST_RECORD_TIMEOUT_MS} ms`)),
      FIRST_RECORD_TIMEOUT_MS,
    );
    child.once('exit', onExit);
    lines.once('line', (line) => {
      clearTimeout(timer);
      child.off('exit', onExit);
      try {
        resolve(JSON.parse(line) as RestartTimeline);
      } catch (err) {
        reject(err);
      }
    });
  });
}

/** SIGTERM: the app commits, writes its checkpoints and exits without leaving the group (a static member). */
function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`restart-app exited with ${code} after SIGTERM`)),
    );
    child.kill('SIGTERM');
  });
}

function describe(r: StartRun): string {
  const ms = (v: number | undefined) => (v === undefined ? '-' : `${v.toFixed(0)} ms`);
  return (
    `restart ${r.kind}: first record processed at ${ms(r.toFirstProcessed)} after spawn ` +
    `(process start ${ms(r.spawnToProcessStart)}, modules loaded ${ms(r.toLoaded)}, ` +
    `RUNNING ${ms(r.toRunning)}, start() resolved ${ms(r.toStarted)}, restore ${ms(r.restoreMs)}); ` +
    `restored ${r.restored} records`
  );
}

function medianOf(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function round3(v: number): number {
  return Number(v.toFixed(3));
}
