// The store conformance suite: every engine and layer combination runs it with a factory (vitest describe/it/expect).
import { describe, expect, it } from 'vitest';
import type { KeyValue, KeyValueStore } from '../api/key-value-store.js';
import type { Serde } from '../api/serde.js';
import type { WindowedKeyValue, WindowStore } from '../api/window-store.js';
import { isStateStoreError } from '../errors.js';

/** Keys and values as raw bytes, so the suite controls byte order exactly; copied both ways, as the contract asks. */
export const bytesSerde: Serde<Uint8Array> = {
  serialize: (value) => Uint8Array.prototype.slice.call(value),
  deserialize: (bytes) => Uint8Array.prototype.slice.call(bytes),
};

/** Raw bytes with cache ids (one char per byte), exercising the caching fast path of typed stores. */
export const bytesSerdeWithCacheKey: Serde<Uint8Array> = {
  ...bytesSerde,
  cacheKey: (value) => Buffer.from(value.buffer, value.byteOffset, value.length).toString('latin1'),
};

export interface StoreHarness<S> {
  store: S;
  /** Makes staged writes durable, as a task commit does (acks treated as immediate). */
  commit(): Promise<void>;
  /** Closes and reopens the same data; absent for engines that do not persist. */
  reopen?: () => Promise<S>;
  close(): Promise<void>;
}

export type KeyValueStoreHarness = StoreHarness<KeyValueStore<Uint8Array, Uint8Array>>;
export type WindowStoreHarness = StoreHarness<WindowStore<Uint8Array, Uint8Array>>;

const b = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));
const s = (u: Uint8Array) => Buffer.from(u).toString('utf8');
const hex = (u: Uint8Array) => Buffer.from(u).toString('hex');

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const keysOf = (entries: KeyValue<Uint8Array, Uint8Array>[]) => entries.map((e) => s(e.key));

function expectCode(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (err) {
    expect(isStateStoreError(err) ? err.code : err).toBe(code);
    return;
  }
  expect.fail(`expected an error with code ${code}`);
}

async function withHarness<S>(
  factory: () => Promise<StoreHarness<S>>,
  body: (h: StoreHarness<S>) => Promise<void>,
): Promise<void> {
  const h = await factory();
  try {
    await body(h);
  } finally {
    await h.close();
  }
}

/** Runs the key-value store contract against stores made by `factory` (each test gets a fresh, empty store). */
export function runKeyValueStoreConformance(
  name: string,
  factory: () => Promise<KeyValueStoreHarness>,
): void {
  const test = (title: string, body: (h: KeyValueStoreHarness) => Promise<void>) =>
    it(title, () => withHarness(factory, body));

  describe(`key-value store conformance: ${name}`, () => {
    test('get of a missing key is undefined', async ({ store }) => {
      expect(store.get(b('nope'))).toBeUndefined();
    });

    test('put then get, before and after commit; overwrite keeps the latest', async (h) => {
      h.store.put(b('k'), b('v1'));
      expect(s(h.store.get(b('k'))!)).toBe('v1');
      await h.commit();
      expect(s(h.store.get(b('k'))!)).toBe('v1');
      h.store.put(b('k'), b('v2'));
      await h.commit();
      expect(s(h.store.get(b('k'))!)).toBe('v2');
    });

    test('putIfAbsent writes only when absent and returns the current value', async ({ store }) => {
      expect(store.putIfAbsent(b('k'), b('a'))).toBeUndefined();
      expect(s(store.putIfAbsent(b('k'), b('b'))!)).toBe('a');
      expect(s(store.get(b('k'))!)).toBe('a');
    });

    test('delete returns the previous value and hides the key from get and scans', async (h) => {
      h.store.put(b('a'), b('1'));
      h.store.put(b('b'), b('2'));
      await h.commit();
      expect(s(h.store.delete(b('a'))!)).toBe('1');
      expect(h.store.delete(b('missing'))).toBeUndefined();
      expect(h.store.get(b('a'))).toBeUndefined();
      expect(keysOf(await collect(h.store.all()))).toEqual(['b']);
      await h.commit();
      expect(h.store.get(b('a'))).toBeUndefined();
      expect(keysOf(await collect(h.store.all()))).toEqual(['b']);
    });

    test('a tombstone followed by a put makes the key visible again', async (h) => {
      h.store.put(b('a'), b('1'));
      h.store.delete(b('a'));
      h.store.put(b('a'), b('2'));
      await h.commit();
      expect(s(h.store.get(b('a'))!)).toBe('2');
    });

    test('scans follow key byte order over committed and uncommitted writes', async (h) => {
      for (const k of ['m', 'c', 'x', 'a']) h.store.put(b(k), b(k));
      await h.commit();
      for (const k of ['b', 'y', 'n']) h.store.put(b(k), b(k));
      h.store.delete(b('x'));
      expect(keysOf(await collect(h.store.all()))).toEqual(['a', 'b', 'c', 'm', 'n', 'y']);
      expect(keysOf(await collect(h.store.range(b('b'), b('n'))))).toEqual(['b', 'c', 'm', 'n']);
      expect(keysOf(await collect(h.store.range(undefined, b('c'))))).toEqual(['a', 'b', 'c']);
      expect(keysOf(await collect(h.store.range(b('n'))))).toEqual(['n', 'y']);
      expect(keysOf(await collect(h.store.range(b('d'), b('l'))))).toEqual([]);
    });

    test('prefixScan returns exactly the keys with the prefix, including 0xff edges', async (h) => {
      const keys = [
        Uint8Array.of(0x01),
        Uint8Array.of(0x01, 0x00),
        Uint8Array.of(0x01, 0xff),
        Uint8Array.of(0x01, 0xff, 0xff),
        Uint8Array.of(0x02),
        Uint8Array.of(0xff),
        Uint8Array.of(0xff, 0x00),
      ];
      for (const k of keys) h.store.put(k, k);
      await h.commit();
      const hexes = async (prefix: Uint8Array) =>
        (await collect(h.store.prefixScan(prefix))).map((e) => hex(e.key));
      expect(await hexes(Uint8Array.of(0x01))).toEqual(['01', '0100', '01ff', '01ffff']);
      expect(await hexes(Uint8Array.of(0x01, 0xff))).toEqual(['01ff', '01ffff']);
      expect(await hexes(Uint8Array.of(0xff))).toEqual(['ff', 'ff00']);
    });

    test('empty values are stored and distinct from absence; large values round-trip', async (h) => {
      const large = new Uint8Array(1024 * 1024).map((_, i) => i % 251);
      h.store.put(b('empty'), new Uint8Array(0));
      h.store.put(b('large'), large);
      await h.commit();
      expect(h.store.get(b('empty'))?.length).toBe(0);
      expect(Buffer.compare(h.store.get(b('large'))!, large)).toBe(0);
      expect(keysOf(await collect(h.store.all()))).toEqual(['empty', 'large']);
    });

    test('binary keys (0x00, 0xff) and unicode keys sort by bytes', async (h) => {
      const keys = [
        Uint8Array.of(0xff, 0x00),
        Uint8Array.of(0x00),
        Uint8Array.of(0x00, 0x00),
        b('é'),
        b('z'),
        b('日本'),
      ];
      for (const k of keys) h.store.put(k, k);
      await h.commit();
      for (const k of keys) expect(hex(h.store.get(k)!)).toBe(hex(k));
      const sorted = [...keys].sort((x, y) => Buffer.compare(x, y)).map(hex);
      expect((await collect(h.store.all())).map((e) => hex(e.key))).toEqual(sorted);
    });

    test('approximateNumEntries counts distinct keys after a commit', async (h) => {
      for (let i = 0; i < 10; i++) h.store.put(b(`k${i}`), b('v'));
      await h.commit();
      expect(h.store.approximateNumEntries()).toBe(10);
    });

    test('committed writes survive a reopen; uncommitted ones do not', async (h) => {
      if (h.reopen === undefined) return;
      h.store.put(b('kept'), b('1'));
      h.store.put(b('gone'), b('1'));
      await h.commit();
      h.store.delete(b('gone'));
      h.store.put(b('lost'), b('1'));
      h.store = await h.reopen();
      expect(s(h.store.get(b('kept'))!)).toBe('1');
      expect(s(h.store.get(b('gone'))!)).toBe('1');
      expect(h.store.get(b('lost'))).toBeUndefined();
      expect(keysOf(await collect(h.store.all()))).toEqual(['gone', 'kept']);
    });

    test('use after close throws STORE_CLOSED; close is idempotent', async ({ store }) => {
      await store.close();
      await store.close();
      expectCode(() => store.get(b('k')), 'STORE_CLOSED');
      expectCode(() => store.put(b('k'), b('v')), 'STORE_CLOSED');
      expectCode(() => store.delete(b('k')), 'STORE_CLOSED');
      expectCode(() => store.all(), 'STORE_CLOSED');
    });
  });
}

const windows = (entries: WindowedKeyValue<Uint8Array, Uint8Array>[]) =>
  entries.map((e) => `${s(e.key)}@${e.windowStart}=${s(e.value)}`);

/** Runs the window store contract; `factory(retentionMs, segmentIntervalMs)` makes a fresh, empty store. */
export function runWindowStoreConformance(
  name: string,
  factory: (retentionMs: number, segmentIntervalMs: number) => Promise<WindowStoreHarness>,
): void {
  const test = (title: string, body: (h: WindowStoreHarness) => Promise<void>) =>
    it(title, () => withHarness(() => factory(100, 50), body));

  describe(`window store conformance: ${name}`, () => {
    test('put and fetch per key and window start; null deletes', async (h) => {
      h.store.put(b('a'), b('1'), 10);
      h.store.put(b('a'), b('2'), 20);
      h.store.put(b('ab'), b('3'), 10);
      expect(s(h.store.fetch(b('a'), 10)!)).toBe('1');
      expect(h.store.fetch(b('a'), 11)).toBeUndefined();
      await h.commit();
      h.store.put(b('a'), null, 20);
      expect(h.store.fetch(b('a'), 20)).toBeUndefined();
      expect(windows(await collect(h.store.fetchRange(b('a'), 0, 100)))).toEqual(['a@10=1']);
    });

    test('fetchRange returns one key in window start order, across segments, bounds inclusive', async (h) => {
      for (const t of [70, 5, 40, 55, 90]) h.store.put(b('k'), b(String(t)), t);
      h.store.put(b('kk'), b('other'), 40);
      await h.commit();
      expect(windows(await collect(h.store.fetchRange(b('k'), 5, 70)))).toEqual([
        'k@5=5',
        'k@40=40',
        'k@55=55',
        'k@70=70',
      ]);
    });

    test('fetchAll returns every key in the time range', async (h) => {
      h.store.put(b('b'), b('1'), 10);
      h.store.put(b('a'), b('2'), 20);
      h.store.put(b('a'), b('3'), 60);
      expect(windows(await collect(h.store.fetchAll(0, 30))).sort()).toEqual(['a@20=2', 'b@10=1']);
      expect(windows(await collect(h.store.fetchAll(0, 100))).length).toBe(3);
    });

    test('retention hides expired windows, drops late writes, and removes expired segments', async (h) => {
      h.store.put(b('k'), b('0'), 0);
      h.store.put(b('k'), b('60'), 60);
      await h.commit();
      h.store.put(b('k'), b('200'), 200);
      expect(h.store.fetch(b('k'), 60)).toBeUndefined();
      h.store.put(b('k'), b('late'), 50);
      expect(h.store.fetch(b('k'), 50)).toBeUndefined();
      expect(windows(await collect(h.store.fetchAll(0, 1000)))).toEqual(['k@200=200']);
      await h.commit();
      if (h.reopen !== undefined) {
        h.store = await h.reopen();
        expect(windows(await collect(h.store.fetchAll(0, 1000)))).toEqual(['k@200=200']);
      }
    });

    test('stream time survives a reopen: expired windows stay hidden, late writes stay dropped', async (h) => {
      h.store.put(b('k'), b('110'), 110);
      // Stream time 215: the window at 110 has expired while its segment (100–149) is still live.
      h.store.put(b('k'), b('215'), 215);
      await h.commit();
      if (h.reopen === undefined) return;
      h.store = await h.reopen();
      expect(h.store.fetch(b('k'), 110)).toBeUndefined();
      expect(windows(await collect(h.store.fetchAll(0, 1000)))).toEqual(['k@215=215']);
      h.store.put(b('k'), b('late'), 100);
      expect(h.store.fetch(b('k'), 100)).toBeUndefined();
    });

    test('use after close throws STORE_CLOSED', async ({ store }) => {
      await store.close();
      expectCode(() => store.fetch(b('k'), 0), 'STORE_CLOSED');
      expectCode(() => store.put(b('k'), b('v'), 0), 'STORE_CLOSED');
    });
  });
}
