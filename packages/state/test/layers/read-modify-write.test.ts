// A put right after a get of the same key reuses the entry the get found, only while the cache still holds it.
import { afterEach, describe, expect, it } from 'vitest';
import { keyValueStore, type Serde } from '../../src/index.js';
import { commit, ImmediateAcks, openManager, tempStateDir } from '../helpers.js';

const utf8: Serde<string> = {
  serialize: (s) => Buffer.from(s),
  deserialize: (b) => Buffer.from(b).toString(),
  cacheKey: (s) => s,
};

const int32: Serde<number> = {
  serialize: (n) => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    return b;
  },
  deserialize: (b) => Buffer.from(b).readInt32BE(0),
  lossless: true,
};

/** Float64 keys: 0 and -0 are different keys (different bytes, different cache ids). */
const float64: Serde<number> = {
  serialize: (n) => {
    const b = Buffer.alloc(8);
    b.writeDoubleBE(n);
    return b;
  },
  deserialize: (b) => Buffer.from(b).readDoubleBE(0),
  cacheKey: (n) => (Object.is(n, -0) ? '-0' : String(n)),
};

const dirs: { remove(): void }[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.remove();
});

async function open<K>(keySerde: Serde<K>, valueSerde: Serde<number>, cacheMaxBytes?: number) {
  const dir = tempStateDir();
  dirs.push(dir);
  const opened = await openManager(
    dir.dir,
    keyValueStore({
      name: 'counts',
      keySerde,
      valueSerde,
      ...(cacheMaxBytes === undefined ? {} : { cacheMaxBytes }),
    }),
  );
  opened.manager.setSourcePosition('in', 0, 0);
  return opened;
}

describe('read-modify-write through the cache', () => {
  it('writes to the store, not to an entry the cache evicted between the get and the put', async () => {
    const { manager, store } = await open(utf8, int32, 600);
    store.put('a', 1);
    await commit(manager, new ImmediateAcks());
    manager.setSourcePosition('in', 0, 1);
    expect(store.get('a')).toBe(1);
    // Reading many other keys evicts the clean entry of 'a'.
    for (let i = 0; i < 200; i++) store.get(`other-${i}`);
    store.put('a', 2);
    expect(store.get('a')).toBe(2);
    const records = manager.prepareCommit();
    expect(records.map((r) => [r.key.toString(), r.value?.readInt32BE(0)])).toEqual([['a', 2]]);
    await manager.completeCommit(new ImmediateAcks().ack(records));
    expect(store.get('a')).toBe(2);
    await manager.close();
  });

  it('keeps keys apart that are equal under === but not the same key (0 and -0)', async () => {
    const { manager, store } = await open(float64, int32);
    store.put(0, 10);
    expect(store.get(0)).toBe(10);
    store.put(-0, 20);
    expect(store.get(0)).toBe(10);
    expect(store.get(-0)).toBe(20);
    store.put(0, 11);
    expect(store.get(-0)).toBe(20);
    const records = manager.prepareCommit();
    expect(records.map((r) => [r.key.readDoubleBE(0), r.value?.readInt32BE(0)])).toEqual([
      [0, 11],
      [-0, 20],
    ]);
    expect(Object.is(records[1]!.key.readDoubleBE(0), -0)).toBe(true);
    await manager.completeCommit(new ImmediateAcks().ack(records));
    await manager.close();
  });

  it('deletes a key it has just read', async () => {
    const { manager, store } = await open(utf8, int32);
    store.put('a', 1);
    expect(store.get('a')).toBe(1);
    expect(store.delete('a')).toBe(1);
    expect(store.get('a')).toBeUndefined();
    const records = manager.prepareCommit();
    expect(records.map((r) => [r.key.toString(), r.value])).toEqual([['a', null]]);
    await manager.completeCommit(new ImmediateAcks().ack(records));
    await manager.close();
  });
});
