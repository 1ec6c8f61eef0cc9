// Serdes.bytes() in a real store (cache on): mutating a caller's Buffer after put, or one a get returned, changes nothing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type KeyValueStore, keyValueStore, TaskStateManager } from '@eddy/state';
import { afterEach, describe, expect, it } from 'vitest';
import { Serdes } from '../../src/serdes/serde.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function open(
  persistent: boolean,
  stateDir: string | undefined,
): Promise<{ manager: TaskStateManager; store: KeyValueStore<Buffer, Buffer> }> {
  const manager = new TaskStateManager({ applicationId: 'app', taskId: '0_0', partition: 0, stateDir });
  const store = manager.register(
    keyValueStore<Buffer, Buffer>({
      name: 'bytes',
      keySerde: Serdes.bytes(),
      valueSerde: Serdes.bytes(),
      persistent,
      caching: true,
    }),
  );
  await manager.open();
  manager.setSourcePosition('in', 0, 0);
  return { manager, store };
}

async function commit(manager: TaskStateManager): Promise<void> {
  const records = manager.prepareCommit();
  await manager.completeCommit(new Map(records.map((r) => [`${r.topic}:${r.partition}`, 0n])));
}

const text = (b: Buffer | undefined) => b?.toString('utf8');

describe.each([
  ['persistent', true],
  ['in-memory', false],
])('Serdes.bytes() in a cached %s store', (_, persistent) => {
  const stateDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'eddy-bytes-serde-'));
    dirs.push(dir);
    return dir;
  };

  it('a key or value mutated after put leaves the stored entry as it was written', async () => {
    const dir = stateDir();
    const { manager, store } = await open(persistent, dir);
    const key = Buffer.from('key-a');
    const value = Buffer.from('value-1');
    store.put(key, value);
    key.write('key-b');
    value.write('MUTATED');
    expect(text(store.get(Buffer.from('key-a')))).toBe('value-1');
    expect(store.get(Buffer.from('key-b'))).toBeUndefined();
    // The same Buffer object, now holding another key, names another entry.
    store.put(key, Buffer.from('value-2'));
    expect(text(store.get(Buffer.from('key-a')))).toBe('value-1');
    expect(text(store.get(Buffer.from('key-b')))).toBe('value-2');
    await commit(manager);
    const all = [];
    for await (const e of store.all()) all.push([text(e.key), text(e.value)]);
    expect(all).toEqual([
      ['key-a', 'value-1'],
      ['key-b', 'value-2'],
    ]);
    await manager.close();
    if (!persistent) return;
    const reopened = await open(persistent, dir);
    expect(text(reopened.store.get(Buffer.from('key-a')))).toBe('value-1');
    expect(text(reopened.store.get(Buffer.from('key-b')))).toBe('value-2');
    await reopened.manager.close();
  });

  it('a value or key returned by the store and then mutated leaves the store as it was', async () => {
    const { manager, store } = await open(persistent, stateDir());
    store.put(Buffer.from('k'), Buffer.from('v1'));
    store.get(Buffer.from('k'))!.write('XX');
    expect(text(store.get(Buffer.from('k')))).toBe('v1');
    await commit(manager);
    store.get(Buffer.from('k'))!.write('YY');
    expect(text(store.get(Buffer.from('k')))).toBe('v1');
    for await (const e of store.all()) {
      e.key.write('z');
      e.value.write('ZZ');
    }
    expect(text(store.get(Buffer.from('k')))).toBe('v1');
    expect(store.get(Buffer.from('z'))).toBeUndefined();
    await manager.close();
  });
});
