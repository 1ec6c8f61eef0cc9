// A StatefulSet, simulated: word-count pods `app-0` … `app-N-1`, each with its own state directory (its volume),
// under a steady input stream, plus what the tests read back from them (assignments, restores, exact counts).
import { changelogTopic } from '@eddy/state';
import { expect } from 'vitest';
import { brokerList, createTopics, uniqueName, waitFor, withAdmin } from '../support/kafka.js';
import type { AppProcess, appProcesses } from '../support/processes.js';
import { readAll } from '../support/read.js';
import { steadyInput } from '../support/steady-input.js';

export const TASKS = 6;

/** The `assigned` event a pod prints for each generation. */
export interface Assigned {
  event: 'assigned';
  tasks: string[];
  standby: string[];
  warmup: string[];
  generation: number;
}

export interface RestoreStart {
  partition: number;
  start: string;
  end: string;
}

export function assignments(app: AppProcess): Assigned[] {
  return events<Assigned>(app, 'assigned');
}

export const last = (app: AppProcess): Assigned | undefined => assignments(app).at(-1);

export function restores(app: AppProcess): RestoreStart[] {
  return events<RestoreStart>(app, 'restore-start');
}

function events<T>(app: AppProcess, name: string): T[] {
  const prefix = `{"event":"${name}"`;
  return app
    .output()
    .split('\n')
    .filter((l) => l.startsWith(prefix))
    .map((l) => JSON.parse(l) as T);
}

export const partitionOf = (task: string): number => Number(task.split('_')[1]);

/**
 * The group is settled among `pods`: their latest assignments share a generation, every task is active on exactly
 * one of them, active counts differ by at most one, and `extra` holds.
 */
export function settled(pods: AppProcess[], extra: (latest: Assigned[]) => boolean = () => true): boolean {
  const latest = pods.map(last);
  if (latest.some((a) => a === undefined)) return false;
  const all = latest as Assigned[];
  const tasks = all.flatMap((a) => a.tasks);
  const sizes = all.map((a) => a.tasks.length);
  return (
    new Set(all.map((a) => a.generation)).size === 1 &&
    tasks.length === TASKS &&
    new Set(tasks).size === TASKS &&
    Math.max(...sizes) - Math.min(...sizes) <= 1 &&
    extra(all)
  );
}

/** Waits for `settled(pods, extra)`; on timeout the error carries the tail of every pod's output. */
export async function waitSettled(
  pods: AppProcess[],
  what: string,
  extra?: (latest: Assigned[]) => boolean,
  timeoutMs = 90_000,
): Promise<void> {
  await waitFor(() => settled(pods, extra), { timeoutMs, what }).catch((err: Error) => {
    const tails = pods.map((p, i) => `--- pod ${i}:\n${p.output().split('\n').slice(-25).join('\n')}`);
    throw new Error(`${err.message}\n${tails.join('\n')}`);
  });
}

export interface Harness {
  pods: AppProcess[];
  /** Each pod's latest assignment once the set had settled. */
  before: (Assigned | undefined)[];
  /** Starts pod `ordinal` on `dir` (its own volume by default), writing to `output` (the set's by default). */
  start(ordinal: number, dir?: string, extra?: Record<string, string>, output?: string): AppProcess;
  expected(): Map<string, number>;
  stop(): Promise<void>;
  input: string;
  output: string;
  applicationId: string;
}

export interface StatefulSetOptions {
  /** Pods started at once (default 3). */
  pods?: number;
  /** Environment of every pod, over the defaults (session timeout 30 s, commit interval 500 ms). */
  env?: Record<string, string>;
  /** What else a settled set must show, e.g. standbys placed. */
  settledWhen?: (latest: Assigned[]) => boolean;
}

/** Settled pods under a steady input stream, each having committed since the group settled. */
export async function statefulSet(
  apps: ReturnType<typeof appProcesses>,
  options: StatefulSetOptions = {},
): Promise<Harness> {
  const input = uniqueName('words');
  const output = uniqueName('counts');
  const applicationId = uniqueName('sts');
  await createTopics([
    { topic: input, numPartitions: TASKS },
    { topic: output, numPartitions: TASKS },
  ]);
  const steady = await steadyInput(input);
  const size = options.pods ?? 3;
  const dirs = Array.from({ length: size }, () => apps.stateDir());
  const env = (ordinal: number, dir: string, extra: Record<string, string> = {}) => ({
    KAFKA_BROKERS: brokerList().join(','),
    APPLICATION_ID: applicationId,
    STATE_DIR: dir,
    POD_NAME: `app-${ordinal}`,
    SESSION_TIMEOUT_MS: '30000',
    COMMIT_INTERVAL_MS: '500',
    ...options.env,
    ...extra,
  });
  const start = (
    ordinal: number,
    dir = dirs[ordinal] ?? apps.stateDir(),
    extra: Record<string, string> = {},
    to = output,
  ) => apps.start('examples/word-count/app.ts', [input, to], env(ordinal, dir, extra));
  const pods = Array.from({ length: size }, (_, ordinal) => start(ordinal));
  await waitSettled(pods, `the ${size} pods to share the ${TASKS} tasks`, options.settledWhen, 60_000);
  // And each task's current owner has committed since: an offset commit comes after the state and checkpoint it
  // covers are written, so every pod now has a checkpoint for its tasks.
  const committed = async () => {
    const [c] = await withAdmin((a) => a.fetchOffsets({ groupId: applicationId, topics: [input] }));
    return new Map(c!.partitions.map((p) => [p.partition, Number(p.offset)]));
  };
  const atSettle = await committed();
  await waitFor(
    async () => {
      const now = await committed();
      return [...atSettle].every(([p, o]) => (now.get(p) ?? -1) > o);
    },
    { what: 'every task to commit after the group settled' },
  );
  return {
    pods,
    before: pods.map(last),
    start,
    expected: () => steady.sent,
    input,
    output,
    applicationId,
    stop: () => steady.stop(),
  };
}

/** Stops the input; once the pods have committed all of it, every key's last output is its exact count. */
export async function expectExactCounts(sts: Harness): Promise<void> {
  await sts.stop();
  const inputEnd = (await withAdmin((a) => a.fetchTopicOffsets(sts.input))).reduce(
    (n, o) => n + Number(o.high),
    0,
  );
  await waitFor(
    async () => {
      const [c] = await withAdmin((a) => a.fetchOffsets({ groupId: sts.applicationId, topics: [sts.input] }));
      return c!.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0) === inputEnd;
    },
    { timeoutMs: 60_000, what: 'the pods to commit all input' },
  );
  const outputEnd = (await withAdmin((a) => a.fetchTopicOffsets(sts.output))).reduce(
    (n, o) => n + Number(o.high),
    0,
  );
  const latest = new Map<string, number>();
  for (const r of await readAll(sts.output, outputEnd)) latest.set(r.key!, Number(r.value));
  expect(latest).toEqual(sts.expected());
}

/** The end offset of each partition of the app's changelog of store `counts`. */
export async function changelogEnds(sts: Harness): Promise<Map<number, bigint>> {
  const offsets = await withAdmin((a) => a.fetchTopicOffsets(changelogTopic(sts.applicationId, 'counts')));
  return new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
}
