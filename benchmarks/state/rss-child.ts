// Child process of the RSS benchmark: holds 1M keys in the LevelDB-backed stack with a small cache; prints its RSS.
import { openCountingStack } from './stack.js';

const KEYS = Number(process.argv[2] ?? 1_000_000);
const CACHE_MAX_BYTES = 4 * 1024 * 1024;
/** Records per fetched batch: the runtime commits at the end of a batch once the cache asks for it. */
const BATCH = 500;

const stack = await openCountingStack(CACHE_MAX_BYTES);
// Dirty entries are never evicted, so while writing the cache may pass its bound by up to one batch.
let writePeakBytes = 0;
for (let i = 0; i < KEYS; i++) {
  stack.manager.setSourcePosition('input', 0, i);
  stack.counts.put(`key-${i}`, i);
  if ((i + 1) % BATCH === 0) {
    writePeakBytes = Math.max(writePeakBytes, stack.manager.cacheSizeBytes('counts'));
    if (stack.manager.needsCommit()) await stack.commit();
  }
}
await stack.commit();
let maxCacheBytes = 0;
const observe = () => {
  maxCacheBytes = Math.max(maxCacheBytes, stack.manager.cacheSizeBytes('counts'));
};
// Read every key back: misses go to LevelDB and fill the cache, which must stay within its bound.
let sum = 0;
for (let i = 0; i < KEYS; i++) {
  sum += stack.counts.get(`key-${i}`) === i ? 1 : 0;
  if (i % 10_000 === 0) observe();
}
observe();
globalThis.gc?.();
const memory = process.memoryUsage();
const rssMb = memory.rss / (1024 * 1024);
const heapUsedMb = memory.heapUsed / (1024 * 1024);
const externalMb = memory.external / (1024 * 1024);
const entries = stack.counts.approximateNumEntries();
await stack.close();
process.stdout.write(
  JSON.stringify({
    rssMb,
    heapUsedMb,
    heapTotalMb: memory.heapTotal / (1024 * 1024),
    arrayBuffersMb: memory.arrayBuffers / (1024 * 1024),
    externalMb,
    maxCacheBytes,
    writePeakBytes,
    batch: BATCH,
    cacheMaxBytes: CACHE_MAX_BYTES,
    found: sum,
    entries,
  }),
);
