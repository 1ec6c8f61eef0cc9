// Stream time of window and session stores survives a restart and a restore; expiry's range deletes commit atomically.
import { afterEach, describe, expect, it } from 'vitest';
import { type RestoreRecord, sessionStore, TaskStateManager, windowStore } from '../../src/index.js';
import { collect, commit, ImmediateAcks, runWithFileSizeLimit, tempStateDir, utf8 } from '../helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function stateDir(): string {
  const tmp = tempStateDir();
  cleanups.push(tmp.remove);
  return tmp.dir;
}

// Each open and each `next` processes a new input offset: writes at a committed offset would be dropped as replays.
let offset = 0;
const next = (manager: TaskStateManager) => manager.setSourcePosition('in', 0, ++offset);

// Retention 100 in segments of 50: at stream time 165 the cutoff is 65, so a window at 60 has expired while its
// segment (50–99) is still on disk.
const times = { retentionMs: 100, segmentIntervalMs: 50 };

async function openWindows(dir: string) {
  const manager = new TaskStateManager({ applicationId: 'app', taskId: '0_0', partition: 0, stateDir: dir });
  const store = manager.register(windowStore({ name: 'w', keySerde: utf8, valueSerde: utf8, ...times }));
  await manager.open();
  cleanups.push(() => manager.close());
  next(manager);
  return { manager, store };
}

async function openSessions(dir: string) {
  const manager = new TaskStateManager({ applicationId: 'app', taskId: '0_0', partition: 0, stateDir: dir });
  const store = manager.register(sessionStore({ name: 's', keySerde: utf8, valueSerde: utf8, ...times }));
  await manager.open();
  cleanups.push(() => manager.close());
  next(manager);
  return { manager, store };
}

describe('window store stream time (LevelDB)', () => {
  it('after a restart, an expired window is not readable and a record older than retention is rejected', async () => {
    const dir = stateDir();
    const acks = new ImmediateAcks();
    const first = await openWindows(dir);
    first.store.put('k', 'old', 60);
    first.store.put('k', 'new', 165);
    expect(first.store.fetch('k', 60)).toBeUndefined();
    await commit(first.manager, acks);
    await first.manager.close();

    const second = await openWindows(dir);
    expect(second.store.fetch('k', 60)).toBeUndefined();
    expect((await collect(second.store.fetchRange('k', 0, 1000))).map((e) => e.value)).toEqual(['new']);
    expect((await collect(second.store.fetchAll(0, 1000))).map((e) => e.value)).toEqual(['new']);
    second.store.put('k', 'too-old', 10);
    expect(second.store.fetch('k', 10)).toBeUndefined();
    await commit(second.manager, acks);
    await second.manager.close();

    const third = await openWindows(dir);
    expect(third.store.fetch('k', 10)).toBeUndefined();
    expect((await collect(third.store.fetchAll(0, 1000))).map((e) => e.value)).toEqual(['new']);
  });

  it('a store restored from its changelog knows its stream time', async () => {
    const source = await openWindows(stateDir());
    source.store.put('k', 'old', 60);
    source.store.put('k', 'new', 165);
    const records: RestoreRecord[] = source.manager
      .prepareCommit()
      .map((r, i) => ({ offset: BigInt(i), key: r.key, value: r.value, headers: r.headers }));
    const restored = await openWindows(stateDir());
    await restored.manager.applyRestoreBatch('w', records);
    expect(restored.store.fetch('k', 60)).toBeUndefined();
    expect(restored.manager.checkpoint('w')?.streamTime).toBe(165);
    expect(restored.store.fetch('k', 165)).toBe('new');
    restored.store.put('k', 'too-old', 10);
    expect(restored.store.fetch('k', 10)).toBeUndefined();
  });

  it('closing without a commit after an expiring write keeps the old data with the old checkpoint', async () => {
    const dir = stateDir();
    const first = await openWindows(dir);
    first.store.put('k', 'a', 10);
    first.store.put('k', 'b', 60);
    await commit(first.manager, new ImmediateAcks());
    next(first.manager);
    first.store.put('k', 'c', 200);
    expect(first.store.fetch('k', 10)).toBeUndefined();
    await first.manager.close();

    const second = await openWindows(dir);
    expect(second.manager.checkpoint('w')?.streamTime).toBe(60);
    expect(second.store.fetch('k', 10)).toBe('a');
    expect(second.store.fetch('k', 60)).toBe('b');
    expect(second.store.fetch('k', 200)).toBeUndefined();
  });

  it('a commit that fails after an expiring write deletes nothing: data and checkpoint stay as they were', async () => {
    const dir = stateDir();
    const child = runWithFileSizeLimit('failed-expiring-write.ts', dir);
    expect(child.stderr).toBe('');
    expect(JSON.parse(child.stdout)).toEqual({ code: 'STORE_WRITE_FAILED' });
    const { manager, store } = await openWindows(dir);
    expect(manager.changelogOffset('w')).toBe(10n);
    expect(store.fetch('k', 10)).toBe('a');
    expect(store.fetch('k', 60)).toBe('b');
    expect((await collect(store.fetchAll(0, 1000))).map((e) => e.value)).toEqual(['a', 'b']);
  });
});

describe('session store stream time (LevelDB)', () => {
  it('after a restart, an expired session is not readable and a session older than retention is rejected', async () => {
    const dir = stateDir();
    const acks = new ImmediateAcks();
    const first = await openSessions(dir);
    first.store.put('u', { start: 50, end: 60 }, 'old');
    first.store.put('u', { start: 160, end: 165 }, 'new');
    await commit(first.manager, acks);
    await first.manager.close();

    const second = await openSessions(dir);
    expect(second.store.fetchSession('u', 50, 60)).toBeUndefined();
    expect((await collect(second.store.findSessions('u', 0, 1000))).map((s) => s.value)).toEqual(['new']);
    second.store.put('u', { start: 0, end: 10 }, 'too-old');
    expect(second.store.fetchSession('u', 0, 10)).toBeUndefined();
    await commit(second.manager, acks);
    await second.manager.close();

    const third = await openSessions(dir);
    expect(third.store.fetchSession('u', 0, 10)).toBeUndefined();
    expect((await collect(third.store.findSessions('u', 0, 1000))).map((s) => s.value)).toEqual(['new']);
  });
});
