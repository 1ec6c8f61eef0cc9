// runtime.crash-loop.*: the cost of `crashLoop`'s in-flight marker on the hot path, as ratios against the same
// stateless pipeline with the option off, in the same run: marked once per processed batch (the normal case), and,
// for reference, once per record (while a crash is suspected in the task's input). Run on its own:
// `node --import tsx --conditions=eddy-source benchmarks/runtime/crash-loop-overhead.ts`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Serdes, StreamsBuilder } from '@eddy/streams';
import {
  type ConsumedRecord,
  CrashGuard,
  createTask,
  DRAIN_ONLY,
  RecordCollector,
  TaskId,
} from '@eddy/streams/internals';
import { do_not_optimize } from 'mitata';
import { cpuMs, median, writeResults } from '../support/results.js';

const BATCH = 1_000;
const ROUND_BATCHES = 5;
const ROUNDS = 104;
const WARMUP_ROUNDS = 4;
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const strings = Serdes.string();
const MODES = ['off', 'batch', 'record'] as const;
type Mode = (typeof MODES)[number];

const options = {
  maxCrashes: 3,
  action: 'fail' as const,
  deadLetterTopic: undefined,
  restartBackoff: { initialMs: 1, maxMs: 1 },
  restartWindowMs: 60_000,
};

/** A guard for task 0_0 in a fresh state directory; for 'record', one left by a run that died in that task's input. */
function guardFor(mode: Exclude<Mode, 'off'>, dirs: string[]): CrashGuard {
  const stateDir = mkdtempSync(join(tmpdir(), 'eddy-bench-crash-loop-'));
  dirs.push(stateDir);
  const config = { stateDir, applicationId: 'bench', logger: silent };
  if (mode === 'record') {
    const crashed = CrashGuard.open(options, config);
    crashed.forTask(TaskId.of(0, 0)).enter([{ topic: 'orders', from: '0', to: String(BATCH - 1) }]);
    crashed.close();
  }
  return CrashGuard.open(options, config);
}

export async function crashLoopOverheadFigures() {
  type Order = { id: number; customer: string; amount: number };
  const b = new StreamsBuilder();
  b.stream('orders', { keySerde: strings, valueSerde: Serdes.json<Order>() })
    .mapValues((o) => ({ id: o!.id, cents: o!.amount * 100 }))
    .filter((_, v) => v.cents >= 50_000)
    .to('large', { keySerde: strings, valueSerde: Serdes.json<{ id: number; cents: number }>() });
  const graph = b.build().seal('bench');
  const batch: ConsumedRecord[] = Array.from({ length: BATCH }, (_, i) => ({
    offset: String(i),
    key: Buffer.from(`order-${i}`),
    value: Buffer.from(JSON.stringify({ id: i, customer: `c${i % 97}`, amount: (i * 37) % 1000 })),
    timestamp: 1_700_000_000_000 + i,
    headers: {},
  }));
  const dirs: string[] = [];
  const guards: CrashGuard[] = [];
  const config = {
    applicationId: 'bench',
    deserializationErrors: 'fail' as const,
    processingErrors: 'fail' as const,
    logger: silent,
  };
  const pipeline = (mode: Mode) => {
    const guard = mode === 'off' ? undefined : guardFor(mode, dirs);
    if (guard !== undefined) guards.push(guard);
    const collector = new RecordCollector(DRAIN_ONLY);
    return () => {
      const started = cpuMs();
      for (let i = 0; i < ROUND_BATCHES; i++) {
        // A task skips offsets it already consumed: a fresh task per batch.
        const id = TaskId.of(0, 0);
        const task = createTask({
          id,
          graph,
          config,
          collector,
          state: undefined,
          ...(guard === undefined ? {} : { inFlight: guard.forTask(id) }),
        });
        task.addRecords('orders', batch);
        task.process();
        do_not_optimize(collector.drain());
      }
      return cpuMs() - started;
    };
  };
  const run: Record<Mode, () => number> = {
    off: pipeline('off'),
    batch: pipeline('batch'),
    record: pipeline('record'),
  };
  const offMs: number[] = [];
  const ratios: Record<Exclude<Mode, 'off'>, number[]> = { batch: [], record: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const t: Record<Mode, number> = { off: 0, batch: 0, record: 0 };
    // The order of the modes rotates each round, so drift in the machine's load spreads over all of them.
    for (let i = 0; i < MODES.length; i++) {
      const mode = MODES[(round + i) % MODES.length]!;
      t[mode] = run[mode]();
    }
    if (round < WARMUP_ROUNDS) continue;
    offMs.push(t.off);
    ratios.batch.push(t.batch / t.off);
    ratios.record.push(t.record / t.off);
  }
  for (const g of guards) g.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  const records = ROUND_BATCHES * BATCH;
  return [
    {
      name: 'runtime.crash-loop.off-ns-per-record',
      value: Math.round((median(offMs) * 1e6) / records),
      unit: 'ns',
    },
    { name: 'runtime.crash-loop.batch-marker.ratio-vs-off', value: round2(median(ratios.batch)), unit: 'x' },
    {
      name: 'runtime.crash-loop.record-marker.ratio-vs-off',
      value: round2(median(ratios.record)),
      unit: 'x',
    },
  ];
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await writeResults('runtime', await crashLoopOverheadFigures());
}
