// State store benchmarks: cached get+put vs a Map, flush cost per dirty key, RSS with 1M keys; writes results/state.json.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bench, do_not_optimize, run, summary } from 'mitata';
import { avgNs, type Figure, writeResults } from '../support/results.js';
import { type CountingStack, openCountingStack } from './stack.js';

const here = dirname(fileURLToPath(import.meta.url));
const WORKING_SET = 1000;
const keys = Array.from({ length: WORKING_SET }, (_, i) => `key-${i}`);

// --- state.cached-get-put.ratio-vs-map: same keys, same run.
const stack = await openCountingStack(64 * 1024 * 1024);
stack.manager.setSourcePosition('input', 0, 0);
for (const key of keys) stack.counts.put(key, 0);
await stack.commit();
// A new input position: writes at or below the committed source mark would be dropped as replays.
stack.manager.setSourcePosition('input', 0, 1);
const map = new Map<string, number>(keys.map((k) => [k, 0]));
let i = 0;
const MAP_BENCH = 'Map get+set';
const STORE_BENCH = 'store get+put (metered → caching → logging → LevelDB)';
summary(() => {
  bench(MAP_BENCH, () => {
    const key = keys[i++ % WORKING_SET]!;
    map.set(key, map.get(key)! + 1);
  }).baseline(true);
  bench(STORE_BENCH, () => {
    const key = keys[i++ % WORKING_SET]!;
    stack.counts.put(key, stack.counts.get(key)! + 1);
  });
});
const { benchmarks } = await run();
do_not_optimize(map);
const mapNs = avgNs(benchmarks, MAP_BENCH);
const storeNs = avgNs(benchmarks, STORE_BENCH);
// The store really counted: every key was incremented as often as its Map twin.
const storeTotal = keys.reduce((sum, key) => sum + stack.counts.get(key)!, 0);
const mapTotal = keys.reduce((sum, key) => sum + map.get(key)!, 0);
if (storeTotal < mapTotal / 10) throw new Error(`store get+put did not write (${storeTotal} vs ${mapTotal})`);
await stack.close();

// --- state.flush.us-per-dirty-key: prepareCommit + completeCommit of N distinct dirty keys, acks immediate.
const DIRTY = 20_000;
const ROUNDS = 15;
async function flushRounds(flushStack: CountingStack): Promise<number[]> {
  const perKeyUs: number[] = [];
  let offset = 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < DIRTY; k++) {
      flushStack.manager.setSourcePosition('input', 0, offset++);
      flushStack.counts.put(`flush-key-${k}`, round);
    }
    const started = performance.now();
    const sent = await flushStack.commit();
    const elapsedUs = (performance.now() - started) * 1000;
    if (sent !== DIRTY) throw new Error(`expected ${DIRTY} changelog records, got ${sent}`);
    if (round >= 3) perKeyUs.push(elapsedUs / DIRTY);
  }
  await flushStack.close();
  return perKeyUs;
}
const flushUsPerKey = median(await flushRounds(await openCountingStack(256 * 1024 * 1024)));

// The share of our layers: the same flush over the in-memory engine (no LevelDB write), same run.
const memoryFlushUsPerKey = median(await flushRounds(await openCountingStack(256 * 1024 * 1024, false)));

// --- state.rss-mb.1m-keys: a child process so the figure is not polluted by this one.
function rssChild(keyCount: number) {
  const child = spawnSync(
    process.execPath,
    [
      '--conditions=eddy-source',
      '--expose-gc',
      '--import',
      'tsx',
      join(here, 'rss-child.ts'),
      String(keyCount),
    ],
    { encoding: 'utf8', cwd: join(here, '..', '..'), maxBuffer: 1 << 20 },
  );
  if (child.status !== 0) throw new Error(`rss child failed: ${child.stderr}`);
  return JSON.parse(child.stdout) as {
    rssMb: number;
    heapTotalMb: number;
    maxCacheBytes: number;
    writePeakBytes: number;
    batch: number;
    cacheMaxBytes: number;
    found: number;
    entries: number;
  };
}
const emptyRss = rssChild(0);
const rss = rssChild(1_000_000);
if (rss.found !== 1_000_000) throw new Error(`rss child read back ${rss.found} of 1000000 keys`);
if (rss.maxCacheBytes > rss.cacheMaxBytes) {
  throw new Error(`cache bound did not hold on reads: ${rss.maxCacheBytes} > ${rss.cacheMaxBytes} bytes`);
}
// While writing, dirty entries of the current batch may pass the bound until the commit at the end of the batch.
const oneBatchBytes = rss.batch * 256;
if (rss.writePeakBytes > rss.cacheMaxBytes + oneBatchBytes) {
  throw new Error(
    `cache bound did not hold on writes: ${rss.writePeakBytes} > ${rss.cacheMaxBytes} + one batch`,
  );
}

const results: Figure[] = [
  { name: 'state.cached-get-put.ratio-vs-map', value: round(storeNs / mapNs), unit: 'x' },
  { name: 'state.flush.us-per-dirty-key', value: round(flushUsPerKey), unit: 'us' },
  { name: 'state.rss-mb.1m-keys', value: round(rss.rssMb), unit: 'MB' },
];

console.log(`\nMap get+set: ${mapNs.toFixed(1)} ns; store get+put: ${storeNs.toFixed(1)} ns`);
console.log(
  `flush: median ${flushUsPerKey.toFixed(3)} us per dirty key (${DIRTY} keys, ${ROUNDS - 3} rounds); ` +
    `the same flush over the in-memory engine: ${memoryFlushUsPerKey.toFixed(3)} us per key`,
);
console.log(
  `rss: ${rss.rssMb.toFixed(1)} MB with ${rss.entries} keys; cache bound ${rss.cacheMaxBytes} B: ` +
    `read peak ${rss.maxCacheBytes} B, write peak ${rss.writePeakBytes} B (batches of ${rss.batch}); ` +
    `V8 heap ${rss.heapTotalMb.toFixed(1)} MB; the same process with 0 keys: ${emptyRss.rssMb.toFixed(1)} MB`,
);
await writeResults('state', results);

// --- state.restore.*: needs the broker; a child process that merges its own figures into the same file.
const restore = spawnSync(
  process.execPath,
  ['--conditions=eddy-source', '--import', 'tsx', join(here, 'restore.ts')],
  { stdio: 'inherit', cwd: join(here, '..', '..') },
);
if (restore.status !== 0) throw new Error(`the restore benchmark failed with status ${restore.status}`);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
