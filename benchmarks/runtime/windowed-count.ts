// runtime.windowed-count.*: a tumbling windowed count (DSL, cached LevelDB window store) fed fetched batches, against a
// hand-written loop that counts into a Map of windows and folds each window's updates until the commit, as the
// windowed table does with caching on (the default).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { changelogTopic, DEFAULT_CACHE_MAX_BYTES } from '@eddy/state';
import { Serdes, StreamsBuilder, TimeWindows, type Windowed, WindowedSerdes } from '@eddy/streams';
import {
  type ConsumedRecord,
  createTask,
  createTaskState,
  DRAIN_ONLY,
  RecordCollector,
  TaskId,
} from '@eddy/streams/internals';
import { do_not_optimize } from 'mitata';
import { interleavedRounds } from '../support/results.js';

const BATCH = 1_000;
const ROUND_BATCHES = 100;
const ROUNDS = 9;
const KEYS = 10_000;
/** One-minute windows; records are 1 ms apart, so a window holds 60,000 records, about 6 per key. */
const WINDOW_MS = 60_000;
/** The number of windows a table holds back between commits before it forwards them (its caching bound). */
const FOLD_BOUND = Math.floor(DEFAULT_CACHE_MAX_BYTES / 1024);

export async function windowedCountFigures(
  commitEvery: number,
  config: (stateDir: string) => {
    applicationId: string;
    stateDir: string;
    deserializationErrors: 'fail';
    processingErrors: 'fail';
    logger: { debug(): void; info(): void; warn(): void; error(): void };
  },
) {
  const strings = Serdes.string();
  const windowedKey = WindowedSerdes.timeWindowed(strings, WINDOW_MS);
  const counts = Serdes.float64();
  const keyBytes = Array.from({ length: KEYS }, (_, k) => Buffer.from(`word-${k}`));
  const valueBytes = Buffer.from('the quick brown fox jumps over the lazy dog');
  let nextOffset = 0;
  const freshBatches = (): ConsumedRecord[][] =>
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

  const builder = new StreamsBuilder();
  builder
    .stream('words', { keySerde: strings, valueSerde: strings })
    .groupByKey()
    .windowedBy(TimeWindows.ofSizeWithNoGrace(WINDOW_MS))
    .count({ name: 'window-counts' })
    .toStream()
    .to('window-counts-out', { keySerde: windowedKey, valueSerde: counts });
  const applicationId = 'bench';
  const graph = builder.build().seal(applicationId);
  const stateDir = mkdtempSync(join(tmpdir(), 'eddy-bench-windowed-'));
  const benchConfig = config(stateDir);
  const id = TaskId.of(0, 0);
  const taskState = createTaskState(benchConfig, graph, id)!;
  const { state } = taskState;
  await state.open();
  const collector = new RecordCollector(DRAIN_ONLY);
  const task = createTask({ id, graph, config: benchConfig, collector, state: taskState });
  const changelogKey = `${changelogTopic(applicationId, 'window-counts')}:0`;
  let changelogOffset = -1n;
  let frameworkOut = 0;
  const frameworkRound = async (batches: ConsumedRecord[][]) => {
    const started = performance.now();
    for (let b = 0; b < batches.length; b++) {
      task.addRecords('words', batches[b]!);
      task.process();
      frameworkOut += collector.drain().length;
      if ((b + 1) % commitEvery === 0 || state.needsCommit()) {
        // As the runtime commits: the table forwards what it held back, then the stores flush.
        task.flush();
        frameworkOut += collector.drain().length;
        const records = state.prepareCommit();
        changelogOffset += BigInt(records.length);
        await state.completeCommit(new Map([[changelogKey, changelogOffset]]));
      }
    }
    return performance.now() - started;
  };

  // The baseline: windows in a Map per window start (expired windows dropped), each window's latest count held
  // until the commit (or until more than FOLD_BOUND are held), then serialized with the same serdes.
  type Out = { topic: string; key: Uint8Array | null; value: Uint8Array | null; timestamp: number };
  const windows = new Map<number, Map<string, number>>();
  const held = new Map<string, { key: Windowed<string>; count: number; timestamp: number }>();
  let handwrittenOut = 0;
  const emitHeld = (out: Out[]) => {
    for (const h of held.values()) {
      out.push({
        topic: 'window-counts-out',
        key: windowedKey.serialize(h.key),
        value: counts.serialize(h.count),
        timestamp: h.timestamp,
      });
    }
    held.clear();
  };
  const handwrittenRound = (batches: ConsumedRecord[][]) => {
    const started = performance.now();
    for (let b = 0; b < batches.length; b++) {
      const out: Out[] = [];
      for (const r of batches[b]!) {
        const key = strings.deserialize(r.key)!;
        strings.deserialize(r.value);
        const start = r.timestamp - (r.timestamp % WINDOW_MS);
        let window = windows.get(start);
        if (window === undefined) {
          window = new Map();
          windows.set(start, window);
          for (const s of windows.keys()) if (s + WINDOW_MS <= start) windows.delete(s);
        }
        const n = (window.get(key) ?? 0) + 1;
        window.set(key, n);
        const id = `${key}\u0000${start}`;
        const h = held.get(id);
        if (h !== undefined) {
          h.count = n;
          h.timestamp = r.timestamp;
        } else {
          held.set(id, {
            key: { key, window: { start, end: start + WINDOW_MS } },
            count: n,
            timestamp: r.timestamp,
          });
          if (held.size > FOLD_BOUND) emitHeld(out);
        }
      }
      if ((b + 1) % commitEvery === 0) emitHeld(out);
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
  if (frameworkOut === 0 || handwrittenOut === 0) {
    throw new Error(`windowed-count output: framework ${frameworkOut}, handwritten ${handwrittenOut}`);
  }
  process.stdout.write(
    `windowed-count: ${KEYS} keys, ${WINDOW_MS} ms tumbling windows, batches of ${BATCH}, commit every ` +
      `${commitEvery} batches; median of ${ROUNDS - 2} rounds of ${perRound} records: framework ` +
      `${fNs.toFixed(0)} ns/record (${frameworkOut} outputs), handwritten ${hNs.toFixed(0)} ns/record ` +
      `(${handwrittenOut} outputs), ratio ${(fNs / hNs).toFixed(2)}\n`,
  );
  return {
    frameworkNs: Number(fNs.toFixed(1)),
    handwrittenNs: Number(hNs.toFixed(1)),
    ratio: Number((fNs / hNs).toFixed(3)),
  };
}

// Run on its own (`tsx --conditions=eddy-source benchmarks/runtime/windowed-count.ts`): prints the figure, writes nothing.
if (process.argv[1]?.endsWith('windowed-count.ts')) {
  const silent = { debug() {}, info() {}, warn() {}, error() {} };
  await windowedCountFigures(100, (stateDir) => ({
    applicationId: 'bench',
    stateDir,
    deserializationErrors: 'fail' as const,
    processingErrors: 'fail' as const,
    logger: silent,
  }));
}
