import { describe, expect, it } from 'vitest';
import { MemoryEngine } from '../../src/engine/memory-engine.js';
import { CachingStore } from '../../src/layers/caching-store.js';
import { ChangeLoggingStore } from '../../src/layers/change-logging-store.js';

const b = (s: string) => Buffer.from(s);

async function engine() {
  const e = new MemoryEngine('m');
  await e.open();
  return e;
}

describe('CachingStore', () => {
  it('de-duplicates repeated writes to one key into one entry sent down at flush', async () => {
    const logging = new ChangeLoggingStore(await engine());
    const cache = new CachingStore(logging, 1 << 20);
    for (let i = 0; i < 5; i++) cache.put(b('k'), b(String(i)));
    cache.put(b('j'), null);
    expect(cache.dirtyCount()).toBe(2);
    expect(logging.drain().keys).toEqual([]);
    cache.flush();
    const logged = logging.drain();
    expect(logged.keys.map((k, i) => [k.toString(), logged.values[i]?.toString() ?? null])).toEqual([
      ['k', '4'],
      ['j', null],
    ]);
    expect(cache.dirtyCount()).toBe(0);
  });

  it('stays within its byte bound by evicting clean entries, never dirty ones', async () => {
    const inner = await engine();
    for (let i = 0; i < 1000; i++) inner.put(b(`key-${i}`), Buffer.alloc(100));
    const cache = new CachingStore(inner, 10_000);
    for (let i = 0; i < 1000; i++) cache.get(b(`key-${i}`));
    expect(cache.sizeBytes()).toBeLessThanOrEqual(10_000);
    expect(cache.sizeBytes()).toBeGreaterThan(5_000);
    for (let i = 0; i < 200; i++) cache.put(b(`dirty-${i}`), Buffer.alloc(100));
    expect(cache.dirtyCount()).toBe(200);
    expect(cache.overBound()).toBe(true);
    expect(inner.get(b('dirty-0'))).toBeUndefined();
    cache.flush();
    expect(inner.get(b('dirty-199'))?.length).toBe(100);
    expect(cache.sizeBytes()).toBeLessThanOrEqual(10_000);
    expect(cache.overBound()).toBe(false);
  });

  it('under churn through many more keys than fit, stays within its bound and keeps the most recent ones', async () => {
    // (Its cost per eviction, which once grew with the number of deleted map slots, is a benchmark's matter.)
    const inner = await engine();
    const keys = Array.from({ length: 200_000 }, (_, i) => b(`key-${i}`));
    for (const key of keys) inner.put(key, Buffer.alloc(16));
    const hits: boolean[] = [];
    const cache = new CachingStore(inner, 2 * 1024 * 1024, {
      onCacheLookup: (_store, hit) => hits.push(hit),
    });
    for (const key of keys) cache.get(key);
    expect(cache.sizeBytes()).toBeLessThanOrEqual(2 * 1024 * 1024);
    hits.length = 0;
    for (const key of keys.slice(-100)) cache.get(key);
    cache.get(keys[0]!);
    expect(hits).toEqual([...Array<boolean>(100).fill(true), false]);
  });

  it('gives recently read entries a second chance before evicting them', async () => {
    const inner = await engine();
    for (let i = 0; i < 10; i++) inner.put(b(`k${i}`), Buffer.alloc(34)); // 2 + 34 + 64 = 100 bytes per entry
    const hits: boolean[] = [];
    const cache = new CachingStore(inner, 300, { onCacheLookup: (_store, hit) => hits.push(hit) });
    for (const k of ['k0', 'k1', 'k2']) cache.get(b(k));
    cache.get(b('k0')); // k0 is now referenced
    cache.get(b('k3')); // evicts k1 (k0 gets its second chance)
    hits.length = 0;
    for (const k of ['k0', 'k3', 'k2', 'k1']) cache.get(b(k));
    expect(hits).toEqual([true, true, true, false]);
    expect(cache.sizeBytes()).toBe(300);
  });

  it('reports hits and misses to the metrics hook', async () => {
    const seen: boolean[] = [];
    const cache = new CachingStore(await engine(), 1 << 20, {
      onCacheLookup: (_store, hit) => seen.push(hit),
    });
    cache.get(b('a'));
    cache.get(b('a'));
    cache.put(b('b'), b('1'));
    cache.get(b('b'));
    expect(seen).toEqual([false, true, true]);
  });
});
