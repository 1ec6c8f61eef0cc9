import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  decodeSourceMarks,
  encodeSourceMarks,
  type KeyValueStore,
  keyValueStore,
  SOURCE_MARKS_HEADER,
  StateStoreError,
  TaskStateManager,
} from '../../src/index.js';
import { collect, commit, ImmediateAcks, runWithFileSizeLimit, tempStateDir, utf8 } from '../helpers.js';

const int = {
  serialize: (n: number) => {
    const b = Buffer.allocUnsafe(8);
    b.writeDoubleBE(n);
    return b;
  },
  deserialize: (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).readDoubleBE(0),
};

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function stateDir(): string {
  const tmp = tempStateDir();
  cleanups.push(tmp.remove);
  return tmp.dir;
}

async function counter(
  dir: string | undefined,
  options: { caching?: boolean; logging?: boolean; cacheMaxBytes?: number } = {},
  managerCacheMaxBytes?: number,
) {
  const manager = new TaskStateManager({
    applicationId: 'app',
    taskId: '0_1',
    partition: 1,
    stateDir: dir,
    ...(managerCacheMaxBytes === undefined ? {} : { cacheMaxBytes: managerCacheMaxBytes }),
  });
  const counts = manager.register(
    keyValueStore({ name: 'counts', keySerde: utf8, valueSerde: int, ...options }),
  );
  await manager.open();
  cleanups.push(() => manager.close());
  return { manager, counts };
}

function count(
  manager: TaskStateManager,
  counts: KeyValueStore<string, number>,
  topic: string,
  offset: number,
  key: string,
) {
  manager.setSourcePosition(topic, 0, offset);
  counts.put(key, (counts.get(key) ?? 0) + 1);
  manager.completeSourceRecord();
}

async function codeOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (err) {
    return err instanceof StateStoreError ? err.code : String(err);
  }
  return 'no error';
}

describe('TaskStateManager commit contract', () => {
  it('prepareCommit returns one record per dirty key with its latest value, tombstones and the source marks', async () => {
    const { manager, counts } = await counter(stateDir());
    manager.setSourcePosition('in', 0, 7);
    counts.put('a', 1);
    counts.put('a', 2);
    counts.put('b', 1);
    manager.completeSourceRecord();
    manager.setSourcePosition('in', 0, 9);
    counts.delete('b');
    manager.completeSourceRecord();
    const records = manager.prepareCommit();
    expect(
      records.map((r) => [r.topic, r.partition, r.key.toString(), r.value && int.deserialize(r.value)]),
    ).toEqual([
      ['app-counts-changelog', 1, 'a', 2],
      ['app-counts-changelog', 1, 'b', null],
    ]);
    for (const r of records) {
      expect(decodeSourceMarks(r.headers[SOURCE_MARKS_HEADER]!)).toEqual([
        { topic: 'in', partition: 0, offset: 9 },
      ]);
    }
  });

  it('without caching, each written key is one changelog record with its latest value', async () => {
    const { manager, counts } = await counter(stateDir(), { caching: false });
    manager.setSourcePosition('in', 0, 1);
    counts.put('a', 1);
    counts.put('b', 1);
    counts.put('a', 2);
    counts.delete('b');
    counts.put('c', 5);
    const records = manager.prepareCommit();
    expect(records.map((r) => [r.key.toString(), r.value && int.deserialize(r.value)])).toEqual([
      ['a', 2],
      ['b', null],
      ['c', 5],
    ]);
    await manager.completeCommit(new Map([['app-counts-changelog:1', '3']]));
    // The next commit logs only what was written after this one.
    counts.put('a', 3);
    expect(
      manager.prepareCommit().map((r) => [r.key.toString(), r.value && int.deserialize(r.value)]),
    ).toEqual([['a', 3]]);
  });

  it('completeCommit persists data, changelog offset and source marks together', async () => {
    const dir = stateDir();
    const first = await counter(dir);
    count(first.manager, first.counts, 'in', 4, 'a');
    await first.manager.prepareCommit();
    await first.manager.completeCommit(new Map([['app-counts-changelog:1', '41']]));
    await first.manager.close();
    const second = await counter(dir);
    expect(second.counts.get('a')).toBe(1);
    expect(second.manager.changelogPartitions()).toEqual([
      {
        store: 'counts',
        topic: 'app-counts-changelog',
        partition: 1,
        checkpointOffset: 41n,
        coveredAt: expect.any(Number),
      },
    ]);
    expect(second.manager.sourceMarks('counts')).toEqual([{ topic: 'in', partition: 0, offset: 4 }]);
  });

  it('with logging off there are no records and the checkpoint holds only source marks', async () => {
    const dir = stateDir();
    const first = await counter(dir, { logging: false });
    count(first.manager, first.counts, 'in', 3, 'a');
    expect(first.manager.prepareCommit()).toEqual([]);
    await first.manager.completeCommit();
    await first.manager.close();
    const second = await counter(dir, { logging: false });
    expect(second.manager.changelogPartitions()).toEqual([]);
    expect(second.manager.changelogOffset('counts')).toBeUndefined();
    expect(second.manager.sourceMarks('counts')).toEqual([{ topic: 'in', partition: 0, offset: 3 }]);
    expect(second.counts.get('a')).toBe(1);
  });

  it('replay after a crash never double-counts: writes at or below the mark are dropped', async () => {
    const dir = stateDir();
    const acks = new ImmediateAcks();
    const input = Array.from({ length: 15 }, (_, i) => `k${i % 3}`);
    const first = await counter(dir);
    for (let offset = 0; offset < 10; offset++)
      count(first.manager, first.counts, 'in', offset, input[offset]!);
    await commit(first.manager, acks);
    for (let offset = 10; offset < 15; offset++)
      count(first.manager, first.counts, 'in', offset, input[offset]!);
    await first.manager.close(); // crash: offsets 10..14 processed but not committed

    const second = await counter(dir);
    // the consumer resumes from an older committed offset (5): 5..9 replay, 10..14 are new again
    for (let offset = 5; offset < 15; offset++)
      count(second.manager, second.counts, 'in', offset, input[offset]!);
    await commit(second.manager, acks);
    const exact = new Map<string, number>();
    for (const key of input) exact.set(key, (exact.get(key) ?? 0) + 1);
    for (const [key, n] of exact) expect(second.counts.get(key)).toBe(n);
    expect(second.manager.sourceMarks('counts')).toEqual([{ topic: 'in', partition: 0, offset: 14 }]);
  });

  it('a record that never completed is not in the marks: it is processed again after a restart', async () => {
    const dir = stateDir();
    const first = await counter(dir);
    count(first.manager, first.counts, 'in', 0, 'a');
    first.manager.setSourcePosition('in', 0, 1); // its processing throws before any write
    expect(first.manager.torn).toBe(false);
    await commit(first.manager, new ImmediateAcks());
    expect(first.manager.sourceMarks('counts')).toEqual([{ topic: 'in', partition: 0, offset: 0 }]);
    await first.manager.close();
    const second = await counter(dir);
    count(second.manager, second.counts, 'in', 1, 'a');
    expect(second.counts.get('a')).toBe(2);
  });

  it('a record that wrote and never completed leaves the state torn', async () => {
    const { manager, counts } = await counter(stateDir());
    count(manager, counts, 'in', 0, 'a');
    expect(manager.torn).toBe(false);
    manager.setSourcePosition('in', 0, 1);
    counts.put('a', 7);
    expect(manager.torn).toBe(true);
    manager.completeSourceRecord();
    expect(manager.torn).toBe(false);
  });

  it('writes outside a record (punctuators) are kept after a commit', async () => {
    const { manager, counts } = await counter(stateDir());
    count(manager, counts, 'in', 5, 'a');
    await commit(manager, new ImmediateAcks());
    counts.put('tick', 1);
    expect(counts.get('tick')).toBe(1);
    expect(manager.prepareCommit().map((r) => r.key.toString())).toEqual(['tick']);
  });

  it('a full cache asks for a commit instead of writing through', async () => {
    const dir = stateDir();
    const first = await counter(dir, { cacheMaxBytes: 1024 });
    expect(first.manager.needsCommit()).toBe(false);
    for (let i = 0; i < 50; i++) count(first.manager, first.counts, 'in', i, `key-${i}`);
    expect(first.manager.needsCommit()).toBe(true);
    await first.manager.close();
    const second = await counter(dir);
    expect(await collect(second.counts.all())).toEqual([]);
    for (let i = 0; i < 50; i++) count(second.manager, second.counts, 'in', i, `key-${i}`);
    await commit(second.manager, new ImmediateAcks());
    expect(second.manager.needsCommit()).toBe(false);
    expect(second.counts.approximateNumEntries()).toBe(50);
  });

  it("the manager's cache bound applies to stores that set none; a store's own bound wins", async () => {
    const bounded = await counter(stateDir(), {}, 1024);
    const own = await counter(stateDir(), { cacheMaxBytes: 1024 * 1024 }, 1024);
    for (let i = 0; i < 50; i++) {
      count(bounded.manager, bounded.counts, 'in', i, `key-${i}`);
      count(own.manager, own.counts, 'in', i, `key-${i}`);
    }
    expect(bounded.manager.needsCommit()).toBe(true);
    expect(own.manager.needsCommit()).toBe(false);
  });

  it('without caching, the logged writes of many keys over the bound ask for a commit, of one key do not', async () => {
    const many = await counter(stateDir(), { caching: false, cacheMaxBytes: 1024 });
    const one = await counter(stateDir(), { caching: false, cacheMaxBytes: 1024 });
    // 20 staged writes of about 10 bytes stay below the bound; 20 logged entries with their overhead pass it.
    for (let i = 0; i < 20; i++) {
      count(many.manager, many.counts, 'in', i, `key-${i}`);
      count(one.manager, one.counts, 'in', i, 'same');
    }
    expect(many.manager.needsCommit()).toBe(true);
    expect(one.manager.needsCommit()).toBe(false);
    await commit(many.manager, new ImmediateAcks());
    expect(many.manager.needsCommit()).toBe(false);
  });

  it('without caching, staged writes over the bound ask for a commit', async () => {
    const { manager, counts } = await counter(stateDir(), { caching: false, cacheMaxBytes: 100 });
    for (let i = 0; i < 20; i++) count(manager, counts, 'in', i, `key-${i}`);
    expect(manager.needsCommit()).toBe(true);
  });

  it('rejects calls out of order with coded errors', async () => {
    const { manager } = await counter(stateDir());
    expect(await codeOf(() => manager.completeCommit())).toBe('INVALID_STATE');
    manager.setSourcePosition('in', 0, 0);
    (manager.store('counts') as KeyValueStore<string, number>).put('a', 1);
    manager.prepareCommit();
    expect(await codeOf(() => manager.prepareCommit())).toBe('INVALID_STATE');
    expect(await codeOf(() => manager.completeCommit(new Map()))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => manager.store('nope'))).toBe('UNKNOWN_STORE');
    expect(
      await codeOf(() => manager.register(keyValueStore({ name: 'x', keySerde: utf8, valueSerde: utf8 }))),
    ).toBe('INVALID_STATE');
  });

  it('validates registration', async () => {
    const m = new TaskStateManager({ applicationId: 'app', taskId: '0_0', partition: 0 });
    expect(
      await codeOf(() => m.register(keyValueStore({ name: 'a/b', keySerde: utf8, valueSerde: utf8 }))),
    ).toBe('INVALID_ARGUMENT');
    expect(
      await codeOf(() => m.register(keyValueStore({ name: 'p', keySerde: utf8, valueSerde: utf8 }))),
    ).toBe('INVALID_ARGUMENT');
    m.register(keyValueStore({ name: 'm', keySerde: utf8, valueSerde: utf8, persistent: false }));
    expect(
      await codeOf(() =>
        m.register(keyValueStore({ name: 'm', keySerde: utf8, valueSerde: utf8, persistent: false })),
      ),
    ).toBe('DUPLICATE_STORE');
    expect(await codeOf(() => (m.store('m') as KeyValueStore<string, string>).get('k'))).toBe(
      'STORE_NOT_OPEN',
    );
    await m.close();
    await m.close();
    expect(await codeOf(() => m.open())).toBe('STORE_CLOSED');
  });
});

describe('TaskStateManager restore', () => {
  const header = (offset: number) => ({
    [SOURCE_MARKS_HEADER]: encodeSourceMarks([{ topic: 'in', partition: 0, offset }]),
  });

  it('applies a batch atomically with the changelog offset and the highest source mark of its headers', async () => {
    const dir = stateDir();
    const { manager, counts } = await counter(dir);
    expect(manager.changelogPartitions()[0]!.checkpointOffset).toBeUndefined();
    await manager.applyRestoreBatch('counts', [
      { offset: 0n, key: utf8.serialize('a'), value: int.serialize(1), headers: header(3) },
      { offset: '1', key: utf8.serialize('a'), value: int.serialize(2), headers: header(8) },
      { offset: 2n, key: utf8.serialize('b'), value: int.serialize(1), headers: header(5) },
      { offset: 3n, key: utf8.serialize('b'), value: null },
    ]);
    expect(counts.get('a')).toBe(2);
    expect(counts.get('b')).toBeUndefined();
    expect(manager.changelogPartitions()[0]!.checkpointOffset).toBe(3n);
    expect(manager.sourceMarks('counts')).toEqual([{ topic: 'in', partition: 0, offset: 8 }]);
    // replaying input up to the restored mark does not count again
    count(manager, counts, 'in', 8, 'a');
    expect(counts.get('a')).toBe(2);
    count(manager, counts, 'in', 9, 'a');
    expect(counts.get('a')).toBe(3);
  });

  /** A task with stores `ahead` (restored to mark 9) and `behind` (to mark 4), and the unlogged ones asked for. */
  async function storesAtTwoMarks(unlogged: string[] = []) {
    const manager = new TaskStateManager({
      applicationId: 'app',
      taskId: '0_0',
      partition: 0,
      stateDir: stateDir(),
    });
    cleanups.push(() => manager.close());
    const ahead = manager.register(keyValueStore({ name: 'ahead', keySerde: utf8, valueSerde: int }));
    const behind = manager.register(keyValueStore({ name: 'behind', keySerde: utf8, valueSerde: int }));
    for (const name of unlogged) {
      manager.register(
        keyValueStore({ name, keySerde: utf8, valueSerde: int, persistent: false, logging: false }),
      );
    }
    await manager.open();
    await manager.applyRestoreBatch('ahead', [
      { offset: 0n, key: utf8.serialize('k'), value: int.serialize(10), headers: header(9) },
    ]);
    await manager.applyRestoreBatch('behind', [
      { offset: 0n, key: utf8.serialize('k'), value: int.serialize(5), headers: header(4) },
    ]);
    return { manager, ahead, behind };
  }

  it('stores of one task left at different marks each drop only what they hold', async () => {
    const { manager, ahead, behind } = await storesAtTwoMarks();
    for (let offset = 5; offset < 12; offset++) {
      count(manager, ahead, 'in', offset, 'k');
      count(manager, behind, 'in', offset, 'k');
    }
    expect(ahead.get('k')).toBe(12);
    expect(behind.get('k')).toBe(12);
  });

  it("the task's replay point is the highest mark of its logged stores; unlogged stores are left out", async () => {
    const { manager } = await storesAtTwoMarks(['scratch']);
    expect(manager.replayPoint()).toEqual([{ topic: 'in', partition: 0, offset: 9 }]);
  });

  it('wipe deletes data, checkpoint and marks', async () => {
    const dir = stateDir();
    const { manager, counts } = await counter(dir);
    count(manager, counts, 'in', 1, 'a');
    await commit(manager, new ImmediateAcks());
    await manager.wipe('counts');
    expect(counts.get('a')).toBeUndefined();
    expect(manager.sourceMarks('counts')).toEqual([]);
    expect(manager.changelogPartitions()[0]!.checkpointOffset).toBeUndefined();
  });
});

describe('task directory lock', () => {
  it('a second manager on the same task directory gets STORE_LOCKED until the first closes', async () => {
    const dir = stateDir();
    const first = await counter(dir);
    const second = new TaskStateManager({ applicationId: 'app', taskId: '0_1', partition: 1, stateDir: dir });
    second.register(keyValueStore({ name: 'counts', keySerde: utf8, valueSerde: int }));
    expect(await codeOf(() => second.open())).toBe('STORE_LOCKED');
    await first.manager.close();
    await second.open();
    await second.close();
  });

  it('a lock held by a live process is respected; a dead process lock is taken over', async () => {
    const dir = stateDir();
    const taskDir = join(dir, 'app', '0_1');
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    cleanups.push(() => void sleeper.kill());
    (await import('node:fs')).mkdirSync(taskDir, { recursive: true });
    writeFileSync(join(taskDir, '.lock'), String(sleeper.pid));
    const manager = new TaskStateManager({
      applicationId: 'app',
      taskId: '0_1',
      partition: 1,
      stateDir: dir,
    });
    expect(await codeOf(() => manager.open())).toBe('STORE_LOCKED');
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    writeFileSync(join(taskDir, '.lock'), String(dead));
    await manager.open();
    await manager.close();
    expect(readdirSync(taskDir)).not.toContain('.lock');
  });
});

describe('task directory lock left by an earlier process with our pid', () => {
  it('is taken over (a container restarts its app as pid 1 every time)', async () => {
    const dir = stateDir();
    const taskDir = join(dir, 'app', '0_1');
    (await import('node:fs')).mkdirSync(taskDir, { recursive: true });
    writeFileSync(join(taskDir, '.lock'), String(process.pid));
    const manager = new TaskStateManager({
      applicationId: 'app',
      taskId: '0_1',
      partition: 1,
      stateDir: dir,
    });
    await manager.open();
    // Held by this process now: a second manager here is refused.
    const second = new TaskStateManager({ applicationId: 'app', taskId: '0_1', partition: 1, stateDir: dir });
    expect(await codeOf(() => second.open())).toBe('STORE_LOCKED');
    await manager.close();
  });
});

describe('task directory lock of another thread of this process', () => {
  const open = async (dir: string) => {
    const manager = new TaskStateManager({
      applicationId: 'app',
      taskId: '0_2',
      partition: 2,
      stateDir: dir,
    });
    return { manager, code: await codeOf(() => manager.open()) };
  };

  it('is respected: a worker thread shares the pid and the run token, not the set of locks held', async () => {
    const dir = stateDir();
    const holder = await open(dir);
    expect(holder.code).toBe('no error');
    const lockFile = join(dir, 'app', '0_2', '.lock');
    const content = readFileSync(lockFile, 'utf8');
    expect(content).toBe(`${process.pid} ${process.env.EDDY_STATE_LOCK_RUN}`);
    await holder.manager.close();
    // What a sibling thread leaves while it holds the task: our pid and our run token, not in our own set.
    writeFileSync(lockFile, content);
    expect((await open(dir)).code).toBe('STORE_LOCKED');
    // An earlier process with our pid wrote another token: taken over.
    writeFileSync(lockFile, `${process.pid} ${process.pid}:another-run`);
    const taken = await open(dir);
    expect(taken.code).toBe('no error');
    await taken.manager.close();
  });
});

describe('faults', () => {
  it('a corrupt LevelDB directory fails open with STORE_CORRUPTED; wipe then open rebuilds empty', async () => {
    const dir = stateDir();
    const first = await counter(dir);
    count(first.manager, first.counts, 'in', 1, 'a');
    await commit(first.manager, new ImmediateAcks());
    await first.manager.close();
    const storeDir = join(dir, 'app', '0_1', 'counts');
    for (const file of readdirSync(storeDir)) {
      if (file === 'CURRENT' || file.startsWith('MANIFEST')) writeFileSync(join(storeDir, file), 'garbage');
    }
    const manager = new TaskStateManager({
      applicationId: 'app',
      taskId: '0_1',
      partition: 1,
      stateDir: dir,
    });
    cleanups.push(() => manager.close());
    const counts = manager.register(keyValueStore({ name: 'counts', keySerde: utf8, valueSerde: int }));
    const err = await manager.open().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StateStoreError);
    expect((err as StateStoreError).code).toBe('STORE_CORRUPTED');
    expect((err as StateStoreError).store).toBe('counts');
    await manager.wipe('counts');
    await manager.open();
    expect(counts.get('a')).toBeUndefined();
    expect(manager.changelogPartitions()[0]!.checkpointOffset).toBeUndefined();
  });

  it('a failed write (file too large) fails the commit and writes neither data nor checkpoint', async () => {
    const dir = stateDir();
    const child = runWithFileSizeLimit('failed-write.ts', dir);
    expect(child.stderr).toBe('');
    expect(JSON.parse(child.stdout)).toEqual({ code: 'STORE_WRITE_FAILED' });
    const manager = new TaskStateManager({
      applicationId: 'app',
      taskId: '0_0',
      partition: 0,
      stateDir: dir,
    });
    cleanups.push(() => manager.close());
    const kv = manager.register(keyValueStore({ name: 'kv', keySerde: utf8, valueSerde: utf8 }));
    await manager.open();
    expect(kv.get('small')).toBe('v');
    expect(kv.get('big')).toBeUndefined();
    expect(manager.changelogOffset('kv')).toBe(10n);
    expect(manager.sourceMarks('kv')).toEqual([{ topic: 'in', partition: 0, offset: 1 }]);
  });
});
