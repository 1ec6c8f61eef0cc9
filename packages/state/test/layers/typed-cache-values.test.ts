// With a lossless value serde, numbers, booleans and bigints stay typed in the cache and are serialized once, at flush.
import { afterEach, describe, expect, it } from 'vitest';
import { keyValueStore, type Serde } from '../../src/index.js';
import { collect, commit, ImmediateAcks, openManager, tempStateDir } from '../helpers.js';

const utf8: Serde<string> = {
  serialize: (s) => Buffer.from(s),
  deserialize: (b) => Buffer.from(b).toString(),
  cacheKey: (s) => s,
};

/** An int32 serde that counts its calls and refuses negative numbers. */
function countingInt32(lossless = true) {
  const calls = { serialize: 0, deserialize: 0 };
  const serde: Serde<number> = {
    serialize: (n) => {
      calls.serialize++;
      if (n < 0) throw new RangeError(`negative: ${n}`);
      const b = new Uint8Array(4);
      new DataView(b.buffer).setInt32(0, n);
      return b;
    },
    deserialize: (b) => {
      calls.deserialize++;
      return new DataView(b.buffer, b.byteOffset, b.length).getInt32(0);
    },
    lossless,
  };
  return { serde, calls };
}

const dirs: { remove(): void }[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.remove();
});

async function counter(serde: Serde<number>) {
  const dir = tempStateDir();
  dirs.push(dir);
  const opened = await openManager(
    dir.dir,
    keyValueStore({ name: 'counts', keySerde: utf8, valueSerde: serde }),
  );
  opened.manager.setSourcePosition('in', 0, 0);
  return opened;
}

describe('typed values in the cache', () => {
  it('serializes a key written many times once per flush, and logs its latest value', async () => {
    const { serde, calls } = countingInt32();
    const { manager, store } = await counter(serde);
    store.put('a', 0);
    const afterFirst = calls.serialize;
    for (let i = 0; i < 100; i++) store.put('a', (store.get('a') ?? 0) + 1);
    expect(calls.serialize).toBe(afterFirst);
    expect(calls.deserialize).toBe(0);
    const records = manager.prepareCommit();
    expect(calls.serialize).toBe(afterFirst + 1);
    expect(records.map((r) => [r.key.toString(), r.value?.readInt32BE(0)])).toEqual([['a', 100]]);
    expect(Buffer.isBuffer(records[0]!.value)).toBe(true);
    await manager.completeCommit(new ImmediateAcks().ack(records));
    expect(store.get('a')).toBe(100);
    await manager.close();
  });

  it('scans and reopens see the values written typed', async () => {
    const { serde } = countingInt32();
    const dir = tempStateDir();
    dirs.push(dir);
    const builder = keyValueStore({ name: 'counts', keySerde: utf8, valueSerde: serde });
    const first = await openManager(dir.dir, builder);
    first.manager.setSourcePosition('in', 0, 0);
    first.store.put('b', 2);
    first.store.put('a', 1);
    first.store.put('b', 3);
    expect((await collect(first.store.all())).map((e) => [e.key, e.value])).toEqual([
      ['a', 1],
      ['b', 3],
    ]);
    await commit(first.manager, new ImmediateAcks());
    await first.manager.close();
    const second = await openManager(dir.dir, builder);
    expect(second.store.get('a')).toBe(1);
    expect(second.store.get('b')).toBe(3);
    await second.manager.close();
  });

  it('a serializer that throws at flush fails prepareCommit and leaves the writes dirty', async () => {
    const { serde } = countingInt32();
    const { manager, store } = await counter(serde);
    store.put('a', 1);
    store.put('a', -1);
    expect(() => manager.prepareCommit()).toThrow(RangeError);
    store.put('a', 5);
    const records = manager.prepareCommit();
    expect(records.map((r) => r.value?.readInt32BE(0))).toEqual([5]);
    await manager.completeCommit(new ImmediateAcks().ack(records));
    await manager.close();
  });

  it('without `lossless`, a value is serialized at put and reads give back what the serde makes of it', async () => {
    const { serde, calls } = countingInt32(false);
    const { manager, store } = await counter(serde);
    store.put('a', 1.5);
    expect(calls.serialize).toBe(1);
    expect(store.get('a')).toBe(1);
    expect(store.get('a')).toBe(1);
    expect(calls.deserialize).toBe(1);
    expect(() => store.put('a', -1)).toThrow(RangeError);
    await manager.close();
  });

  it('keeps mutable values serialized at put: a later change to the object does not reach the store', async () => {
    const json: Serde<{ n: number }> = {
      serialize: (v) => Buffer.from(JSON.stringify(v)),
      deserialize: (b) => JSON.parse(Buffer.from(b).toString()) as { n: number },
    };
    const dir = tempStateDir();
    dirs.push(dir);
    const { manager, store } = await openManager(
      dir.dir,
      keyValueStore({ name: 'objects', keySerde: utf8, valueSerde: json }),
    );
    const value = { n: 1 };
    store.put('k', value);
    value.n = 2;
    expect(store.get('k')).toEqual({ n: 1 });
    expect(store.get('k')).not.toBe(store.get('k'));
    await manager.close();
  });
});
