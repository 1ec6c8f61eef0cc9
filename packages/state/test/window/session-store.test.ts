import { afterEach, describe, expect, it } from 'vitest';
import { sessionStore, TaskStateManager } from '../../src/index.js';
import { collect, commit, ImmediateAcks, tempStateDir, utf8 } from '../helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

for (const persistent of [false, true]) {
  describe(`session store (${persistent ? 'leveldb' : 'memory'})`, () => {
    async function open() {
      const tmp = tempStateDir();
      const manager = new TaskStateManager({
        applicationId: 'app',
        taskId: '0_0',
        partition: 0,
        stateDir: tmp.dir,
      });
      const store = manager.register(
        sessionStore({
          name: 'sessions',
          keySerde: utf8,
          valueSerde: utf8,
          retentionMs: 100,
          segmentIntervalMs: 50,
          persistent,
        }),
      );
      await manager.open();
      cleanups.push(tmp.remove, () => manager.close());
      return { manager, store };
    }

    it('finds the sessions of a key that overlap a time range, by end time', async () => {
      const { manager, store } = await open();
      store.put('u', { start: 0, end: 10 }, 'a');
      store.put('u', { start: 20, end: 70 }, 'b');
      store.put('u', { start: 80, end: 90 }, 'c');
      store.put('uu', { start: 5, end: 15 }, 'other');
      await commit(manager, new ImmediateAcks());
      const found = async (earliestEnd: number, latestStart: number) =>
        (await collect(store.findSessions('u', earliestEnd, latestStart))).map((s) => s.value);
      expect(await found(0, 100)).toEqual(['a', 'b', 'c']);
      expect(await found(11, 79)).toEqual(['b']);
      expect(await found(10, 20)).toEqual(['a', 'b']);
      expect(store.fetchSession('u', 20, 70)).toBe('b');
      store.remove('u', { start: 20, end: 70 });
      expect(await found(0, 100)).toEqual(['a', 'c']);
    });

    it('drops expired sessions by retention', async () => {
      const { store } = await open();
      store.put('u', { start: 0, end: 10 }, 'old');
      store.put('u', { start: 150, end: 200 }, 'new');
      expect((await collect(store.findSessions('u', 0, 1000))).map((s) => s.value)).toEqual(['new']);
      expect(store.fetchSession('u', 0, 10)).toBeUndefined();
    });
  });
}
