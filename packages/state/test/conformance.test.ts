// Runs the exported conformance suites on both engines and every caching × logging combination.
import { describe } from 'vitest';
import { keyValueStore, windowStore } from '../src/index.js';
import {
  bytesSerde,
  bytesSerdeWithCacheKey,
  type KeyValueStoreHarness,
  runKeyValueStoreConformance,
  runWindowStoreConformance,
  type WindowStoreHarness,
} from '../src/test-suite/index.js';
import { commit, ImmediateAcks, openManager, tempStateDir } from './helpers.js';

for (const persistent of [false, true]) {
  for (const caching of [true, false]) {
    for (const logging of [true, false]) {
      const label = `${persistent ? 'leveldb' : 'memory'}, caching ${caching ? 'on' : 'off'}, logging ${logging ? 'on' : 'off'}`;
      describe(label, () => {
        /** A key-value store of this engine and layer combination, opened by a task state manager. */
        const harness = (keySerde: typeof bytesSerde) => async (): Promise<KeyValueStoreHarness> => {
          const tmp = tempStateDir();
          const acks = new ImmediateAcks();
          const builder = keyValueStore({
            name: 'kv',
            keySerde,
            valueSerde: bytesSerde,
            persistent,
            caching,
            logging,
            cacheMaxBytes: 4096,
          });
          let opened = await openManager(persistent ? tmp.dir : undefined, builder);
          return {
            store: opened.store,
            commit: () => commit(opened.manager, acks),
            reopen: persistent
              ? async () => {
                  await opened.manager.close();
                  opened = await openManager(tmp.dir, builder);
                  return opened.store;
                }
              : undefined,
            close: async () => {
              await opened.manager.close();
              tmp.remove();
            },
          };
        };
        if (caching) {
          runKeyValueStoreConformance(
            `${label}, cache ids from the key serde`,
            harness(bytesSerdeWithCacheKey),
          );
        }
        runKeyValueStoreConformance(label, harness(bytesSerde));

        const windowHarness =
          (keySerde: typeof bytesSerde) =>
          async (retentionMs: number, segmentIntervalMs?: number): Promise<WindowStoreHarness> => {
            const tmp = tempStateDir();
            const acks = new ImmediateAcks();
            const builder = windowStore({
              name: 'win',
              keySerde,
              valueSerde: bytesSerde,
              retentionMs,
              segmentIntervalMs,
              persistent,
              caching,
              logging,
            });
            let opened = await openManager(persistent ? tmp.dir : undefined, builder);
            return {
              store: opened.store,
              commit: () => commit(opened.manager, acks),
              reopen: persistent
                ? async () => {
                    await opened.manager.close();
                    opened = await openManager(tmp.dir, builder);
                    return opened.store;
                  }
                : undefined,
              close: async () => {
                await opened.manager.close();
                tmp.remove();
              },
            };
          };
        if (caching) {
          runWindowStoreConformance(
            `${label}, cache ids from the key serde`,
            windowHarness(bytesSerdeWithCacheKey),
          );
        }
        runWindowStoreConformance(label, windowHarness(bytesSerde));
      });
    }
  }
}
