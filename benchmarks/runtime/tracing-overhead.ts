// runtime.tracing.*: the cost of `tracing` on the hot path, as ratios against the same work with tracing off in the
// same run: with no OpenTelemetry SDK registered (the goal: at most 5 % more), and, for reference, with an SDK
// tracer that records every span (dropped by a no-op span processor, so no exporter is timed).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { changelogTopic } from '@eddy/state';
import { Serdes, StreamsBuilder, type TracingOptions } from '@eddy/streams';
import {
  type ConsumedRecord,
  createTask,
  createTaskState,
  DRAIN_ONLY,
  RecordCollector,
  resolveTracing,
  TaskId,
} from '@eddy/streams/internals';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { AlwaysOnSampler, BasicTracerProvider, NoopSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { do_not_optimize } from 'mitata';
import { repartitionCountTopology } from '../../test/support/apps/repartition-count.js';
import { cpuMs, type Figure, median, writeResults } from '../support/results.js';

const BATCH = 1_000;
const ROUND_BATCHES = 5;
const ROUNDS = 204;
const WARMUP_ROUNDS = 4;
const KEYS = 10_000;
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const strings = Serdes.string();

/** Every input record carries a sampled W3C context, as the output of a traced producer does. */
const TRACEPARENT = Buffer.from('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');

type Mode = 'off' | 'no-sdk' | 'sdk';
const MODES: readonly Mode[] = ['off', 'no-sdk', 'sdk'];

function tracingOf(mode: Mode): TracingOptions | undefined {
  if (mode === 'off') return undefined;
  if (mode === 'no-sdk') return resolveTracing(true);
  const tracerProvider = new BasicTracerProvider({
    sampler: new AlwaysOnSampler(),
    spanProcessors: [new NoopSpanProcessor()],
  });
  return { tracerProvider, propagator: new W3CTraceContextPropagator() };
}

/**
 * One pipeline per mode, fed the same batches in interleaved rounds (the order of the modes rotates each round, so
 * drift in the machine's load spreads over all of them). Returns the median round time with tracing off and, per
 * mode, the median of its per-round ratios against the off round next to it (pairs cancel most of the load's drift).
 */
async function interleaved(
  pipelines: Record<Mode, (batches: ConsumedRecord[][]) => Promise<number> | number>,
  fresh: () => ConsumedRecord[][],
): Promise<{ offMs: number; noSdk: number; sdk: number }> {
  const off: number[] = [];
  const noSdk: number[] = [];
  const sdk: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const t = { off: 0, 'no-sdk': 0, sdk: 0 };
    for (let i = 0; i < MODES.length; i++) {
      const mode = MODES[(round + i) % MODES.length]!;
      t[mode] = await pipelines[mode](fresh());
    }
    // The first rounds warm up the JIT, the LevelDB files and the caches.
    if (round < WARMUP_ROUNDS) continue;
    off.push(t.off);
    noSdk.push(t['no-sdk'] / t.off);
    sdk.push(t.sdk / t.off);
  }
  return { offMs: median(off), noSdk: median(noSdk), sdk: median(sdk) };
}

/** The stateless topology of `runtime.stateless.*`: source → mapValues → filter → sink. */
function statelessFigures() {
  type Order = { id: number; customer: string; amount: number; note: string };
  const valueSerde = Serdes.json<Order>();
  const outSerde = Serdes.json<{ id: number; cents: number }>();
  const b = new StreamsBuilder();
  b.stream('orders', { keySerde: strings, valueSerde })
    .mapValues((o) => ({ id: o!.id, cents: o!.amount * 100 }))
    .filter((_, v) => v.cents >= 50_000)
    .to('large', { keySerde: strings, valueSerde: outSerde });
  const graph = b.build().seal('bench');
  const batch: ConsumedRecord[] = Array.from({ length: BATCH }, (_, i) => ({
    offset: String(i),
    key: Buffer.from(`order-${i}`),
    value: Buffer.from(
      JSON.stringify({ id: i, customer: `c${i % 97}`, amount: (i * 37) % 1000, note: 'n'.repeat(20) }),
    ),
    timestamp: 1_700_000_000_000 + i,
    headers: { traceparent: TRACEPARENT },
  }));
  const pipeline = (mode: Mode) => {
    const collector = new RecordCollector(DRAIN_ONLY);
    const config = {
      applicationId: 'bench',
      stateDir: tmpdir(),
      deserializationErrors: 'fail' as const,
      processingErrors: 'fail' as const,
      logger: silent,
      tracing: tracingOf(mode),
    };
    return (batches: ConsumedRecord[][]) => {
      const started = cpuMs();
      // A task skips offsets it already consumed: a fresh task per batch, as in runtime.stateless.*.
      for (const records of batches) {
        const task = createTask({ id: TaskId.of(0, 0), graph, config, collector, state: undefined });
        task.addRecords('orders', records);
        task.process();
        do_not_optimize(collector.drain());
      }
      return cpuMs() - started;
    };
  };
  return interleaved({ off: pipeline('off'), 'no-sdk': pipeline('no-sdk'), sdk: pipeline('sdk') }, () =>
    Array.from({ length: ROUND_BATCHES }, () => batch),
  );
}

/** The two-hop topology of `runtime.repartition.*`: rekey → repartition records → count, a commit every 100 batches. */
async function repartitionFigures() {
  let nextOffset = 0;
  const words = Array.from({ length: KEYS }, (_, k) => Buffer.from(`word-${k}`));
  const fresh = (): ConsumedRecord[][] =>
    Array.from({ length: ROUND_BATCHES }, () =>
      Array.from({ length: BATCH }, () => {
        const offset = nextOffset++;
        return {
          offset: String(offset),
          key: Buffer.from(`order-${offset}`),
          value: words[(offset * 7919) % KEYS]!,
          timestamp: 1_700_000_000_000 + offset,
          headers: { traceparent: TRACEPARENT },
        };
      }),
    );
  const dirs: string[] = [];
  const closers: (() => Promise<void>)[] = [];
  const pipeline = async (mode: Mode) => {
    const applicationId = 'bench';
    const graph = repartitionCountTopology('orders', 'word-counts').seal(applicationId);
    const stateDir = mkdtempSync(join(tmpdir(), 'eddy-bench-tracing-'));
    dirs.push(stateDir);
    const config = {
      applicationId,
      stateDir,
      deserializationErrors: 'fail' as const,
      processingErrors: 'fail' as const,
      logger: silent,
      tracing: tracingOf(mode),
    };
    const countSubtopology = graph.subtopologyOfStore.get('customer-counts')!;
    const id = TaskId.of(countSubtopology, 0);
    const countInput = graph.subtopologies[countSubtopology]!.sourceTopics[0]!;
    const taskState = createTaskState(config, graph, id)!;
    const { state } = taskState;
    await state.open();
    closers.push(() => state.close());
    const collector = new RecordCollector(DRAIN_ONLY);
    const task = createTask({ id, graph, config, collector, state: taskState });
    const rekeyCollector = new RecordCollector(DRAIN_ONLY);
    const rekeyTask = createTask({
      id: TaskId.of(graph.subtopologyOfTopic.get('orders')!, 0),
      graph,
      config,
      collector: rekeyCollector,
      state: undefined,
    });
    let repartitionOffset = 0;
    const changelogKey = `${changelogTopic(applicationId, 'customer-counts')}:0`;
    let changelogOffset = -1n;
    let batchesSeen = 0;
    return async (batches: ConsumedRecord[][]) => {
      const started = cpuMs();
      for (const records of batches) {
        rekeyTask.addRecords('orders', records);
        rekeyTask.process();
        task.addRecords(
          countInput,
          rekeyCollector.drain().map((r) => ({
            offset: String(repartitionOffset++),
            key: r.key,
            value: r.value,
            timestamp: r.timestamp!,
            headers: r.headers ?? {},
          })),
        );
        task.process();
        do_not_optimize(collector.drain());
        if (++batchesSeen % 100 === 0 || state.needsCommit()) {
          task.flush();
          do_not_optimize(collector.drain());
          const prepared = state.prepareCommit();
          changelogOffset += BigInt(prepared.length);
          await state.completeCommit(new Map([[changelogKey, changelogOffset]]));
        }
      }
      return cpuMs() - started;
    };
  };
  try {
    return await interleaved(
      { off: await pipeline('off'), 'no-sdk': await pipeline('no-sdk'), sdk: await pipeline('sdk') },
      fresh,
    );
  } finally {
    for (const close of closers) await close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

export async function tracingOverheadFigures() {
  const stateless = await statelessFigures();
  const repartition = await repartitionFigures();
  const perRound = ROUND_BATCHES * BATCH;
  const ns = (ms: number) => Number(((ms * 1e6) / perRound).toFixed(1));
  const x = (ratio: number) => Number(ratio.toFixed(3));
  for (const [name, t] of [
    ['stateless', stateless],
    ['repartition', repartition],
  ] as const) {
    process.stdout.write(
      `tracing, ${name}: ${ROUNDS - WARMUP_ROUNDS} interleaved rounds of ${perRound} records: off ${ns(t.offMs)} ns/record; ` +
        `median ratio vs off of the same round: on without an SDK ${x(t.noSdk)} x, ` +
        `on with an SDK recording every span ${x(t.sdk)} x\n`,
    );
  }
  return {
    stateless: { offNs: ns(stateless.offMs), noSdkRatio: x(stateless.noSdk), sdkRatio: x(stateless.sdk) },
    repartition: {
      offNs: ns(repartition.offMs),
      noSdkRatio: x(repartition.noSdk),
      sdkRatio: x(repartition.sdk),
    },
  };
}

/** The figures of `tracingOverheadFigures` as written to results/runtime.json. */
export function tracingFigures(t: Awaited<ReturnType<typeof tracingOverheadFigures>>): Figure[] {
  return [
    { name: 'runtime.tracing.stateless.off.ns-per-record', value: t.stateless.offNs, unit: 'ns' },
    { name: 'runtime.tracing.stateless.no-sdk.ratio-vs-off', value: t.stateless.noSdkRatio, unit: 'x' },
    { name: 'runtime.tracing.stateless.sdk.ratio-vs-off', value: t.stateless.sdkRatio, unit: 'x' },
    { name: 'runtime.tracing.repartition.off.ns-per-record', value: t.repartition.offNs, unit: 'ns' },
    { name: 'runtime.tracing.repartition.no-sdk.ratio-vs-off', value: t.repartition.noSdkRatio, unit: 'x' },
    { name: 'runtime.tracing.repartition.sdk.ratio-vs-off', value: t.repartition.sdkRatio, unit: 'x' },
  ];
}

// Run on its own (`tsx --conditions=eddy-source benchmarks/runtime/tracing-overhead.ts`): only these figures, written
// over their entries in results/runtime.json.
if (process.argv[1]?.endsWith('tracing-overhead.ts')) {
  await writeResults('runtime', tracingFigures(await tracingOverheadFigures()));
}
