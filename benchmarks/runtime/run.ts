// Hot-path benchmarks of the runtime without network: fetched batches fed straight into a task, against a
// hand-written loop doing the same work with the same serdes. Writes benchmarks/results/runtime.json.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { changelogTopic } from '@eddy/state';
import { Serdes, StreamsBuilder } from '@eddy/streams';
import {
  type ConsumedRecord,
  createTask,
  createTaskState,
  DRAIN_ONLY,
  RecordCollector,
  TaskId,
} from '@eddy/streams/internals';
import { bench, do_not_optimize, run } from 'mitata';
import { wordCountTopology } from '../../examples/word-count/topology.js';
import { repartitionCountTopology } from '../../test/support/apps/repartition-count.js';
import { avgNs, interleavedRounds, writeResults } from '../support/results.js';
import { avroSerdeFigures } from './avro-serde.js';
import { metricsOverheadFigures } from './metrics-overhead.js';
import { tracingFigures, tracingOverheadFigures } from './tracing-overhead.js';
import { windowedCountFigures } from './windowed-count.js';

const BATCH = 1_000;
type Order = { id: number; customer: string; amount: number; note: string };

const batch: ConsumedRecord[] = Array.from({ length: BATCH }, (_, i) => ({
  offset: String(i),
  key: Buffer.from(`order-${i}`),
  value: Buffer.from(
    JSON.stringify({ id: i, customer: `c${i % 97}`, amount: (i * 37) % 1000, note: 'n'.repeat(20) }),
  ),
  timestamp: 1_700_000_000_000 + i,
  headers: {},
}));

const keySerde = Serdes.string();
const valueSerde = Serdes.json<Order>();
const outSerde = Serdes.json<{ id: number; cents: number }>();

const statelessGraph = (() => {
  const b = new StreamsBuilder();
  b.stream('orders', { keySerde, valueSerde })
    .mapValues((o) => ({ id: o!.id, cents: o!.amount * 100 }))
    .filter((_, v) => v.cents >= 50_000)
    .to('large', { keySerde, valueSerde: outSerde });
  return b.build().seal('bench');
})();
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const benchConfig = (stateDir: string) => ({
  applicationId: 'bench',
  stateDir,
  deserializationErrors: 'fail' as const,
  processingErrors: 'fail' as const,
  logger: silent,
});
const statelessCollector = new RecordCollector(DRAIN_ONLY);

// A task skips offsets it has already consumed, so each iteration feeds the batch to a fresh task (building one
// costs a few microseconds, under 1 % of a 1,000-record batch).
bench('runtime.stateless.topology', () => {
  const task = createTask({
    id: TaskId.of(0, 0),
    graph: statelessGraph,
    config: benchConfig(tmpdir()),
    collector: statelessCollector,
    state: undefined,
  });
  task.addRecords('orders', batch);
  task.process();
  do_not_optimize(statelessCollector.drain());
});

bench('runtime.stateless.handwritten', () => {
  const out: {
    topic: string;
    key: Buffer | null;
    value: Uint8Array | null;
    timestamp: number;
    headers: object;
  }[] = [];
  for (const r of batch) {
    const key = keySerde.deserialize(r.key);
    const order = valueSerde.deserialize(r.value)!;
    const mapped = { id: order.id, cents: order.amount * 100 };
    if (mapped.cents >= 50_000) {
      out.push({
        topic: 'large',
        key: keySerde.serialize(key),
        value: outSerde.serialize(mapped),
        timestamp: r.timestamp,
        headers: r.headers,
      });
    }
  }
  do_not_optimize(out);
});

const { benchmarks } = await run();
const framework = avgNs(benchmarks, 'runtime.stateless.topology');
const handwritten = avgNs(benchmarks, 'runtime.stateless.handwritten');
// A commit every 100 batches of 1,000 is about one per second (the default interval) at 100,000 records/s.
const count = await countFigures(100);
const countFrequentCommits = await countFigures(10);
const repartition = await countFigures(100, 'repartition');
const streamTableJoin = await streamTableJoinFigures();
const windowedCount = await windowedCountFigures(100, benchConfig);
const tracing = await tracingOverheadFigures();
await writeResults('runtime', [
  { name: 'runtime.count.ns-per-record', value: count.frameworkNs, unit: 'ns' },
  { name: 'runtime.count.handwritten.ns-per-record', value: count.handwrittenNs, unit: 'ns' },
  { name: 'runtime.count.ratio-vs-handwritten', value: count.ratio, unit: 'x' },
  {
    name: 'runtime.count.commit-every-10-batches.ratio-vs-handwritten',
    value: countFrequentCommits.ratio,
    unit: 'x',
  },
  { name: 'runtime.repartition.ns-per-record', value: repartition.frameworkNs, unit: 'ns' },
  { name: 'runtime.repartition.handwritten.ns-per-record', value: repartition.handwrittenNs, unit: 'ns' },
  { name: 'runtime.repartition.ratio-vs-handwritten', value: repartition.ratio, unit: 'x' },
  { name: 'runtime.stream-table-join.ns-per-record', value: streamTableJoin.frameworkNs, unit: 'ns' },
  {
    name: 'runtime.stream-table-join.handwritten.ns-per-record',
    value: streamTableJoin.handwrittenNs,
    unit: 'ns',
  },
  { name: 'runtime.stream-table-join.ratio-vs-handwritten', value: streamTableJoin.ratio, unit: 'x' },
  { name: 'runtime.windowed-count.ns-per-record', value: windowedCount.frameworkNs, unit: 'ns' },
  {
    name: 'runtime.windowed-count.handwritten.ns-per-record',
    value: windowedCount.handwrittenNs,
    unit: 'ns',
  },
  { name: 'runtime.windowed-count.ratio-vs-handwritten', value: windowedCount.ratio, unit: 'x' },
  ...tracingFigures(tracing),
  ...(await metricsOverheadFigures()),
  ...(await avroSerdeFigures(benchmarks)),
  { name: 'runtime.stateless.ns-per-record', value: Number((framework / BATCH).toFixed(1)), unit: 'ns' },
  {
    name: 'runtime.stateless.handwritten.ns-per-record',
    value: Number((handwritten / BATCH).toFixed(1)),
    unit: 'ns',
  },
  {
    name: 'runtime.stateless.ratio-vs-handwritten',
    value: Number((framework / handwritten).toFixed(3)),
    unit: 'x',
  },
]);

// --- runtime.count.* and runtime.repartition.*: timed rounds rather than mitata, because the framework side awaits a
// commit every COMMIT_EVERY batches. Each round processes ROUND_BATCHES fresh batches (offsets keep rising: a store
// drops writes at or below its committed source mark); batches are built before the clock starts.
// `count`: the word-count topology, records keyed by word. `repartition`: records keyed by order with the word as
// value, rekeyed by word (subtopology 0), through the repartition topic into the count (subtopology 1).
async function countFigures(COMMIT_EVERY: number, kind: 'count' | 'repartition' = 'count') {
  const ROUND_BATCHES = 100;
  const ROUNDS = 9;
  const KEYS = 10_000;
  const strings = Serdes.string();
  const keyBytes = Array.from({ length: KEYS }, (_, k) => Buffer.from(`word-${k}`));
  const valueBytes = Buffer.from('the quick brown fox jumps over the lazy dog');
  let nextOffset = 0;
  const freshBatches = (): ConsumedRecord[][] =>
    Array.from({ length: ROUND_BATCHES }, () =>
      Array.from({ length: BATCH }, () => {
        const offset = nextOffset++;
        const word = keyBytes[(offset * 7919) % KEYS]!;
        return {
          offset: String(offset),
          key: kind === 'count' ? word : Buffer.from(`order-${offset}`),
          value: kind === 'count' ? valueBytes : word,
          timestamp: 1_700_000_000_000 + offset,
          headers: {},
        };
      }),
    );

  // The framework: a StreamTask over a TaskStateManager with a cached LevelDB store, wired as the task manager does;
  // for `repartition`, preceded by the stateless rekeying task whose drained output becomes the fetched batches of
  // the repartition topic (one partition: the producer's murmur2 partitioning is skipped on both sides).
  const applicationId = 'bench';
  const input = kind === 'count' ? 'words' : 'orders';
  const storeName = kind === 'count' ? 'counts' : 'customer-counts';
  const graph = (
    kind === 'count'
      ? wordCountTopology(input, 'word-counts', 'counts', true)
      : repartitionCountTopology(input, 'word-counts')
  ).seal(applicationId);
  const stateDir = mkdtempSync(join(tmpdir(), 'eddy-bench-runtime-'));
  const config = benchConfig(stateDir);
  const countSubtopology = graph.subtopologyOfStore.get(storeName)!;
  const id = TaskId.of(countSubtopology, 0);
  const countInput = graph.subtopologies[countSubtopology]!.sourceTopics[0]!;
  const taskState = createTaskState(config, graph, id)!;
  const { state } = taskState;
  await state.open();
  const collector = new RecordCollector(DRAIN_ONLY);
  const task = createTask({ id, graph, config, collector, state: taskState });
  const rekeyCollector = new RecordCollector(DRAIN_ONLY);
  const rekeyTask =
    kind === 'count'
      ? undefined
      : createTask({
          id: TaskId.of(graph.subtopologyOfTopic.get(input)!, 0),
          graph,
          config,
          collector: rekeyCollector,
          state: undefined,
        });
  let repartitionOffset = 0;
  const fetchedRepartition = (): ConsumedRecord[] =>
    rekeyCollector.drain().map((r) => ({
      offset: String(repartitionOffset++),
      key: r.key,
      value: r.value,
      timestamp: r.timestamp!,
      headers: r.headers ?? {},
    }));
  const changelogKey = `${changelogTopic(applicationId, storeName)}:0`;
  let changelogOffset = -1n;
  let changelogRecords = 0;
  const commit = async () => {
    const records = state.prepareCommit();
    changelogRecords += records.length;
    changelogOffset += BigInt(records.length);
    // Acknowledged at once: no broker here.
    await state.completeCommit(new Map([[changelogKey, changelogOffset]]));
  };
  let frameworkOut = 0;
  let commitMs = 0;
  const frameworkRound = async (batches: ConsumedRecord[][]) => {
    const started = performance.now();
    for (let b = 0; b < batches.length; b++) {
      if (rekeyTask === undefined) {
        task.addRecords(countInput, batches[b]!);
      } else {
        rekeyTask.addRecords(input, batches[b]!);
        rekeyTask.process();
        task.addRecords(countInput, fetchedRepartition());
      }
      task.process();
      frameworkOut += collector.drain().length;
      if ((b + 1) % COMMIT_EVERY === 0 || state.needsCommit()) {
        const commitStarted = performance.now();
        // As the runtime does before a commit: the table forwards the counts it folded per key since the last one.
        task.flush();
        frameworkOut += collector.drain().length;
        await commit();
        commitMs += performance.now() - commitStarted;
      }
    }
    return performance.now() - started;
  };

  // The baseline: the same work in a loop over a Map, with the same serdes. The count is a DSL table with caching on
  // (the default): it holds each key's latest count until the commit, and so does the baseline there; the
  // repartition topology's Processor-API count forwards every count at once.
  type Out = { topic: string; key: Uint8Array | null; value: Uint8Array | null; timestamp: number };
  const counts = new Map<string, number>();
  const held = new Map<string, number>();
  let handwrittenOut = 0;
  const output = (key: string, n: number, timestamp: number): Out => ({
    topic: 'word-counts',
    key: strings.serialize(key),
    value: strings.serialize(String(n)),
    timestamp,
  });
  const countRecords = (records: readonly Out[] | readonly ConsumedRecord[]) => {
    const out: Out[] = [];
    for (const r of records) {
      const key = strings.deserialize(r.key!);
      strings.deserialize(r.value!);
      const n = (counts.get(key) ?? 0) + 1;
      counts.set(key, n);
      if (kind === 'count') held.set(key, r.timestamp);
      else out.push(output(key, n, r.timestamp));
    }
    return out;
  };
  const emitHeld = () => {
    const out: Out[] = [];
    for (const [key, timestamp] of held) out.push(output(key, counts.get(key)!, timestamp));
    held.clear();
    return out;
  };
  const rekey = (records: readonly ConsumedRecord[]) => {
    const out: Out[] = [];
    for (const r of records) {
      const order = strings.deserialize(r.key)!;
      const word = strings.deserialize(r.value)!;
      out.push({
        topic: 'bench-customers-repartition',
        key: strings.serialize(word),
        value: strings.serialize(order),
        timestamp: r.timestamp,
      });
    }
    return out;
  };
  const handwrittenRound = (batches: ConsumedRecord[][]) => {
    const started = performance.now();
    for (let b = 0; b < batches.length; b++) {
      const batch = batches[b]!;
      const out = kind === 'count' ? countRecords(batch) : countRecords(rekey(batch));
      if (kind === 'count' && (b + 1) % COMMIT_EVERY === 0) out.push(...emitHeld());
      handwrittenOut += out.length;
      do_not_optimize(out);
    }
    return performance.now() - started;
  };

  const perRound = ROUND_BATCHES * BATCH;
  let measuredCommitMs = 0;
  let roundCommitMs = 0;
  const { frameworkNs: fNs, handwrittenNs: hNs } = await interleavedRounds({
    rounds: ROUNDS,
    warmup: 2,
    recordsPerRound: perRound,
    fresh: freshBatches,
    framework: async (batches) => {
      const before = commitMs;
      const ms = await frameworkRound(batches);
      roundCommitMs = commitMs - before;
      return ms;
    },
    handwritten: handwrittenRound,
    measured: () => {
      measuredCommitMs += roundCommitMs;
    },
  });
  await state.close();
  rmSync(stateDir, { recursive: true, force: true });
  // The count's table and its baseline both emit one count per key and commit interval; the repartition count one
  // per record.
  if (frameworkOut === 0 || frameworkOut !== handwrittenOut) {
    throw new Error(`${kind} output: framework ${frameworkOut}, handwritten ${handwrittenOut}`);
  }
  const commitNs = (measuredCommitMs * 1e6) / (perRound * (ROUNDS - 2));
  process.stdout.write(
    `${kind}: ${KEYS} keys, batches of ${BATCH}, commit every ${COMMIT_EVERY} batches ` +
      `(${changelogRecords} changelog records in all); median of ${ROUNDS - 2} rounds of ${perRound} records: ` +
      `framework ${fNs.toFixed(0)} ns/record (of which commit ${commitNs.toFixed(0)}), ` +
      `handwritten ${hNs.toFixed(0)} ns/record, ratio ${(fNs / hNs).toFixed(2)}\n`,
  );
  return {
    frameworkNs: Number(fNs.toFixed(1)),
    handwrittenNs: Number(hNs.toFixed(1)),
    ratio: Number((fNs / hNs).toFixed(3)),
  };
}

// --- runtime.stream-table-join.*: orders (keyed by customer) joined with a table of 10,000 customers (a cached
// LevelDB store, loaded and committed before the clock starts), against a loop that looks each order's customer up
// in a Map; same serdes, same output records. Timed rounds as for the count, a commit every 100 batches.
async function streamTableJoinFigures() {
  const ROUND_BATCHES = 100;
  const ROUNDS = 9;
  const CUSTOMERS = 10_000;
  const strings = Serdes.string();
  const customerKeys = Array.from({ length: CUSTOMERS }, (_, c) => Buffer.from(`customer-${c}`));
  const orderValue = Buffer.from('order of three items, express delivery');
  const builder = new StreamsBuilder();
  const names = builder.table(
    'customers',
    { keySerde: strings, valueSerde: strings },
    { name: 'customer-names' },
  );
  builder
    .stream('orders', { keySerde: strings, valueSerde: strings })
    .join(names, (order, name) => `${order} for ${name}`)
    .to('named-orders', { keySerde: strings, valueSerde: strings });
  const applicationId = 'bench';
  const graph = builder.build().seal(applicationId);
  const stateDir = mkdtempSync(join(tmpdir(), 'eddy-bench-join-'));
  const config = benchConfig(stateDir);
  const id = TaskId.of(0, 0);
  const taskState = createTaskState(config, graph, id)!;
  const { state } = taskState;
  await state.open();
  const collector = new RecordCollector(DRAIN_ONLY);
  const task = createTask({ id, graph, config, collector, state: taskState });
  const changelogKey = `${changelogTopic(applicationId, 'customer-names')}:0`;
  let changelogOffset = -1n;
  const commit = async () => {
    const records = state.prepareCommit();
    changelogOffset += BigInt(records.length);
    await state.completeCommit(new Map([[changelogKey, changelogOffset]]));
  };

  const table = new Map<string, string>();
  const customers: ConsumedRecord[] = customerKeys.map((key, c) => {
    table.set(key.toString(), `name-${c}`);
    return {
      offset: String(c),
      key,
      value: Buffer.from(`name-${c}`),
      timestamp: 1_600_000_000_000,
      headers: {},
    };
  });
  // Each fetch reaches its partition's log end: the task waits for neither input (maxTaskIdleMs 0).
  task.addRecords('orders', [], 0n, -1n);
  task.addRecords('customers', customers, BigInt(customers.length));
  task.process();
  collector.drain();
  await commit();

  let nextOffset = 0;
  const freshBatches = (): ConsumedRecord[][] =>
    Array.from({ length: ROUND_BATCHES }, () =>
      Array.from({ length: BATCH }, () => {
        const offset = nextOffset++;
        return {
          offset: String(offset),
          key: customerKeys[(offset * 7919) % CUSTOMERS]!,
          value: orderValue,
          timestamp: 1_700_000_000_000 + offset,
          headers: {},
        };
      }),
    );
  let frameworkOut = 0;
  const frameworkRound = async (batches: ConsumedRecord[][]) => {
    const started = performance.now();
    for (let b = 0; b < batches.length; b++) {
      const fetched = batches[b]!;
      task.addRecords('orders', fetched, BigInt(fetched[fetched.length - 1]!.offset) + 1n);
      task.process();
      frameworkOut += collector.drain().length;
      if ((b + 1) % 100 === 0 || state.needsCommit()) await commit();
    }
    return performance.now() - started;
  };
  let handwrittenOut = 0;
  const handwrittenRound = (batches: ConsumedRecord[][]) => {
    const started = performance.now();
    for (const batch of batches) {
      const out: { topic: string; key: Uint8Array | null; value: Uint8Array | null; timestamp: number }[] =
        [];
      for (const r of batch) {
        const key = strings.deserialize(r.key)!;
        const order = strings.deserialize(r.value)!;
        const name = table.get(key);
        if (name === undefined) continue;
        out.push({
          topic: 'named-orders',
          key: strings.serialize(key),
          value: strings.serialize(`${order} for ${name}`),
          timestamp: r.timestamp,
        });
      }
      handwrittenOut += out.length;
      do_not_optimize(out);
    }
    return performance.now() - started;
  };

  const perRound = ROUND_BATCHES * BATCH;
  const { frameworkNs: fNs, handwrittenNs: hNs } = await interleavedRounds({
    rounds: ROUNDS,
    warmup: 2,
    recordsPerRound: perRound,
    fresh: freshBatches,
    framework: frameworkRound,
    handwritten: handwrittenRound,
  });
  await state.close();
  rmSync(stateDir, { recursive: true, force: true });
  if (frameworkOut !== ROUNDS * perRound || handwrittenOut !== ROUNDS * perRound) {
    throw new Error(`stream-table join output: framework ${frameworkOut}, handwritten ${handwrittenOut}`);
  }
  process.stdout.write(
    `stream-table join: ${CUSTOMERS} table keys, batches of ${BATCH}; median of ${ROUNDS - 2} rounds of ` +
      `${perRound} records: framework ${fNs.toFixed(0)} ns/record, handwritten ${hNs.toFixed(0)} ns/record, ` +
      `ratio ${(fNs / hNs).toFixed(2)}\n`,
  );
  return {
    frameworkNs: Number(fNs.toFixed(1)),
    handwrittenNs: Number(hNs.toFixed(1)),
    ratio: Number((fNs / hNs).toFixed(3)),
  };
}
