// Cached window stores read by cache id, keep immutable values unserialized, and skip reads below for new windows.
import { afterEach, describe, expect, it } from 'vitest';
import { type Serde, TaskStateManager, windowStore } from '../../src/index.js';
import { commit, ImmediateAcks, tempStateDir, utf8 } from '../helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let offset = 0;

/** UTF-8 keys with cache ids: the typed fast path. */
const keys = { ...utf8, cacheKey: (s: string) => s };

/** Frozen `{ n }` values: immutable, so the cache may keep them unserialized. */
const frozen: Serde<{ n: number }> = {
  serialize: (v) => Buffer.from(String(v.n)),
  deserialize: (b) => Object.freeze({ n: Number(Buffer.from(b).toString()) }),
  lossless: true,
};

async function open(dir: string, cacheMaxBytes: number, times = { retentionMs: 1_000_000 }) {
  const manager = new TaskStateManager({ applicationId: 'app', taskId: '0_0', partition: 0, stateDir: dir });
  const store = manager.register(
    windowStore({ name: 'w', keySerde: keys, valueSerde: frozen, ...times, cacheMaxBytes }),
  );
  await manager.open();
  cleanups.push(() => manager.close());
  manager.setSourcePosition('in', 0, ++offset);
  return { manager, store };
}

describe('cached window store reads (LevelDB)', () => {
  it('finds windows written before a commit after they left the cache, and new windows without them', async () => {
    const tmp = tempStateDir();
    cleanups.push(tmp.remove);
    const acks = new ImmediateAcks();
    // A cache of a few entries: most windows are evicted once committed.
    const { manager, store } = await open(tmp.dir, 512);
    for (let start = 0; start < 200; start += 10)
      store.put(`k${start % 30}`, Object.freeze({ n: start }), start);
    await commit(manager, acks);
    manager.setSourcePosition('in', 0, ++offset);
    // Written before the commit: read from below after eviction.
    for (let start = 0; start < 200; start += 10)
      expect(store.fetch(`k${start % 30}`, start)).toEqual({ n: start });
    // New windows after the commit: absent until written, then cached and found.
    expect(store.fetch('k0', 300)).toBeUndefined();
    store.put('k0', Object.freeze({ n: 300 }), 300);
    expect(store.fetch('k0', 300)).toEqual({ n: 300 });
    expect(store.fetch('k1', 300)).toBeUndefined();
    // A window written before the commit and rewritten after it.
    store.put('k0', Object.freeze({ n: 1 }), 0);
    await commit(manager, acks);
    manager.setSourcePosition('in', 0, ++offset);
    expect(store.fetch('k0', 0)).toEqual({ n: 1 });
    expect(store.fetch('k0', 300)).toEqual({ n: 300 });
    await manager.close();

    const reopened = await open(tmp.dir, 512);
    expect(reopened.store.fetch('k0', 300)).toEqual({ n: 300 });
    expect(reopened.store.fetch('k0', 0)).toEqual({ n: 1 });
    expect(reopened.store.fetch('k20', 20)).toEqual({ n: 20 });
  });

  it('reads what was written while entries are evicted, expired and cleared, with bytes and typed values', async () => {
    const tmp = tempStateDir();
    cleanups.push(tmp.remove);
    const acks = new ImmediateAcks();
    // Retention 100 in segments of 50; a cache of a few dozen entries, so that clean entries are evicted.
    const { manager, store } = await open(tmp.dir, 4096, {
      retentionMs: 100,
      segmentIntervalMs: 50,
    } as never);
    const model = new Map<string, number>();
    let streamTime = -1;
    for (let i = 0; i < 3000; i++) {
      const time = Math.floor(i / 10) + (i % 7) * 3;
      const start = time - (time % 10);
      const key = `k${(i * 13) % 17}`;
      if (time > streamTime) streamTime = time;
      const live = (s: number) => s > streamTime - 100;
      const old = store.fetch(key, start);
      const expected = live(start) ? model.get(`${key}@${start}`) : undefined;
      expect(old?.n).toBe(expected);
      // Every fifth write is a plain (not frozen) value: serialized at once instead of kept typed.
      const value = { n: (old?.n ?? 0) + 1 };
      store.put(key, i % 5 === 0 ? value : Object.freeze(value), start);
      if (live(start)) model.set(`${key}@${start}`, value.n);
      if (i % 250 === 249) {
        await commit(manager, acks);
        manager.setSourcePosition('in', 0, ++offset);
      }
    }
    for (const [id, n] of model) {
      const [key, start] = id.split('@') as [string, string];
      if (Number(start) > streamTime - 100) expect(store.fetch(key, Number(start))).toEqual({ n });
    }
  });
});
