import { describe, expect, it } from 'vitest';
import { keyValueStore, readOnlyKeyValueStore, TaskStateManager } from '../../src/index.js';
import { collect } from '../helpers.js';

const utf8 = {
  serialize: (s: string) => Buffer.from(s),
  deserialize: (b: Uint8Array) => Buffer.from(b).toString(),
  cacheKey: (s: string) => s,
};

describe('MeteredKeyValueStore', () => {
  it('reports each operation with its duration to the metrics hook', async () => {
    const seen: string[] = [];
    const manager = new TaskStateManager({ applicationId: 'app', taskId: '0_0', partition: 0 });
    const store = manager.register(
      keyValueStore({
        name: 'kv',
        keySerde: utf8,
        valueSerde: utf8,
        persistent: false,
        metrics: {
          onOperation: (name, op, durationNs) => {
            expect(durationNs).toBeGreaterThanOrEqual(0);
            seen.push(`${name}.${op}`);
          },
        },
      }),
    );
    await manager.open();
    store.put('a', '1');
    store.get('a');
    store.delete('a');
    await collect(store.all());
    expect(seen).toEqual(['kv.put', 'kv.get', 'kv.get', 'kv.delete', 'kv.range']);
    await manager.close();
  });

  it('read-only views read through and expose no writes', async () => {
    const manager = new TaskStateManager({ applicationId: 'app', taskId: '0_0', partition: 0 });
    const store = manager.register(
      keyValueStore({ name: 'kv', keySerde: utf8, valueSerde: utf8, persistent: false }),
    );
    await manager.open();
    const view = readOnlyKeyValueStore(store);
    store.put('b', '2');
    store.put('a', '1');
    expect(view.get('a')).toBe('1');
    expect((await collect(view.all())).map((e) => e.key)).toEqual(['a', 'b']);
    expect('put' in view).toBe(false);
    await manager.close();
  });
});
