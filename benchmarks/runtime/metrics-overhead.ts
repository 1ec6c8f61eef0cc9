// runtime.count.metrics.*: the word count of `runtime.count.*` with Prometheus metrics on (as the runtime feeds them:
// a timed observation per batch and per commit, an end-to-end latency per output record, a scrape per round), against
// the same count with metrics off and against the hand-written loop, in interleaved rounds.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { changelogTopic } from '@eddy/state';
import { Serdes } from '@eddy/streams';
import {
  AppMetrics,
  type ConsumedRecord,
  createTask,
  createTaskState,
  DRAIN_ONLY,
  RecordCollector,
  RestoreProgress,
  TaskId,
} from '@eddy/streams/internals';
import { do_not_optimize } from 'mitata';
import { Registry } from 'prom-client';
import { wordCountTopology } from '../../examples/word-count/topology.js';
import { cpuMs, type Figure, median, writeResults } from '../support/results.js';

const BATCH = 1_000;
/** One round is 100 batches with one commit, as in `runtime.count.*`; metrics are scraped once per round. */
const ROUND_BATCHES = 100;
const ROUNDS = 43;
const WARMUP_ROUNDS = 4;
const KEYS = 10_000;
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const strings = Serdes.string();

type Round = (batches: ConsumedRecord[][]) => Promise<number> | number;

/** The count task over a cached LevelDB store, committing at the end of each round; with `metrics`, observed. */
async function framework(metrics: boolean, cleanups: (() => Promise<void> | void)[]): Promise<Round> {
  const applicationId = 'bench';
  const graph = wordCountTopology('words', 'word-counts', 'counts', true).seal(applicationId);
  const stateDir = mkdtempSync(join(tmpdir(), 'eddy-bench-metrics-'));
  const config = {
    applicationId,
    stateDir,
    deserializationErrors: 'fail' as const,
    processingErrors: 'fail' as const,
    logger: silent,
  };
  const id = TaskId.of(0, 0);
  const taskState = createTaskState(config, graph, id)!;
  const { state } = taskState;
  await state.open();
  cleanups.push(async () => {
    await state.close();
    rmSync(stateDir, { recursive: true, force: true });
  });
  const collector = new RecordCollector(DRAIN_ONLY);
  const registry = new Registry();
  const observer = metrics
    ? new AppMetrics(
        registry,
        {
          processed: () => task.processedCount,
          sent: () => 0,
          commits: () => 0,
          rebalances: () => 0,
          restoringTasks: () => 0,
          activeTasks: () => [
            {
              id: id.toString(),
              processed: task.processedCount,
              caches: [['counts', state.cacheStats('counts')!]],
            },
          ],
          replicas: () => [],
          consumerLags: () => new Map([['words:0', 0]]),
          pendingInputs: () => [],
          dropped: () => ({}),
        },
        new RestoreProgress(undefined),
      )
    : undefined;
  const task = createTask({
    id,
    graph,
    config,
    collector,
    state: taskState,
    ...(observer === undefined ? {} : { outputLatency: observer.outputLatency(id) }),
  });
  const changelogKey = `${changelogTopic(applicationId, 'counts')}:0`;
  let changelogOffset = -1n;
  return async (batches) => {
    const started = cpuMs();
    for (const records of batches) {
      task.addRecords('words', records);
      const at = observer === undefined ? 0 : performance.now();
      const processed = task.process();
      observer?.batchProcessed(id, processed, (performance.now() - at) / 1000);
      do_not_optimize(collector.drain());
    }
    const at = performance.now();
    task.flush();
    do_not_optimize(collector.drain());
    const prepared = state.prepareCommit();
    changelogOffset += BigInt(prepared.length);
    await state.completeCommit(new Map([[changelogKey, changelogOffset]]));
    observer?.committed((performance.now() - at) / 1000);
    if (observer !== undefined) do_not_optimize(await registry.metrics());
    return cpuMs() - started;
  };
}

/** The hand-written count: a Map, each key's latest count emitted once per round (the commit), same serdes. */
function handwritten(): Round {
  const counts = new Map<string, number>();
  const held = new Map<string, number>();
  return (batches) => {
    const started = cpuMs();
    for (const records of batches) {
      for (const r of records) {
        const key = strings.deserialize(r.key)!;
        strings.deserialize(r.value);
        counts.set(key, (counts.get(key) ?? 0) + 1);
        held.set(key, r.timestamp);
      }
    }
    const out = [...held].map(([key, timestamp]) => ({
      key: strings.serialize(key),
      value: strings.serialize(String(counts.get(key))),
      timestamp,
    }));
    held.clear();
    do_not_optimize(out);
    return cpuMs() - started;
  };
}

export async function metricsOverheadFigures(): Promise<Figure[]> {
  const keyBytes = Array.from({ length: KEYS }, (_, k) => Buffer.from(`word-${k}`));
  const valueBytes = Buffer.from('the quick brown fox jumps over the lazy dog');
  let nextOffset = 0;
  const fresh = (): ConsumedRecord[][] =>
    Array.from({ length: ROUND_BATCHES }, () =>
      Array.from({ length: BATCH }, () => {
        const offset = nextOffset++;
        return {
          offset: String(offset),
          key: keyBytes[(offset * 7919) % KEYS]!,
          value: valueBytes,
          timestamp: 1_700_000_000_000 + offset,
          headers: {},
        };
      }),
    );
  const cleanups: (() => Promise<void> | void)[] = [];
  try {
    const modes: [string, Round][] = [
      ['off', await framework(false, cleanups)],
      ['on', await framework(true, cleanups)],
      ['handwritten', handwritten()],
    ];
    const onVsHandwritten: number[] = [];
    const onVsOff: number[] = [];
    const onMs: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const t: Record<string, number> = {};
      // The order rotates each round, so drift in the machine's load spreads over all three.
      for (let i = 0; i < modes.length; i++) {
        const [mode, run] = modes[(round + i) % modes.length]!;
        t[mode] = await run(fresh());
      }
      if (round < WARMUP_ROUNDS) continue;
      onMs.push(t.on!);
      onVsHandwritten.push(t.on! / t.handwritten!);
      onVsOff.push(t.on! / t.off!);
    }
    const perRound = ROUND_BATCHES * BATCH;
    const figures: Figure[] = [
      {
        name: 'runtime.count.metrics.ns-per-record',
        value: Number(((median(onMs) * 1e6) / perRound).toFixed(1)),
        unit: 'ns',
      },
      {
        name: 'runtime.count.metrics.ratio-vs-handwritten',
        value: Number(median(onVsHandwritten).toFixed(3)),
        unit: 'x',
      },
      { name: 'runtime.count.metrics.ratio-vs-off', value: Number(median(onVsOff).toFixed(3)), unit: 'x' },
    ];
    process.stdout.write(
      `count with metrics: ${ROUNDS - WARMUP_ROUNDS} interleaved rounds of ${perRound} records (CPU time)\n`,
    );
    return figures;
  } finally {
    for (const cleanup of cleanups) await cleanup();
  }
}

// Run on its own (`tsx --conditions=eddy-source benchmarks/runtime/metrics-overhead.ts`): only these figures, written
// over their entries in results/runtime.json.
if (process.argv[1]?.endsWith('metrics-overhead.ts')) {
  await writeResults('runtime', await metricsOverheadFigures());
}
