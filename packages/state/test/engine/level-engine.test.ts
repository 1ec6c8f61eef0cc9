// Staged writes of the LevelDB engine: read back before the commit, counted once per key, applied in write order.
import { ClassicLevel } from 'classic-level';
import { afterEach, describe, expect, it } from 'vitest';
import { LevelEngine } from '../../src/engine/level-engine.js';
import { collect, tempStateDir } from '../helpers.js';

const b = (s: string) => Buffer.from(s);
const dirs: { remove(): void }[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.remove();
});

async function engine() {
  const dir = tempStateDir();
  dirs.push(dir);
  const e = new LevelEngine('s', dir.dir);
  await e.open();
  return e;
}

const checkpoint = { changelogOffset: 0n, marks: [] };

describe('LevelEngine staged writes', () => {
  it('a repeated key written without reads in between commits its last value', async () => {
    const e = await engine();
    e.put(b('k'), b('1'));
    e.put(b('k'), b('2'));
    e.put(b('j'), b('x'));
    e.put(b('j'), null);
    await e.commit(checkpoint);
    expect(e.get(b('k'))?.toString()).toBe('2');
    expect(e.get(b('j'))).toBeUndefined();
    await e.close();
  });

  it('reads staged writes before the commit, and later writes after such a read', async () => {
    const e = await engine();
    e.put(b('k'), b('1'));
    e.put(b('k'), b('2'));
    expect(e.get(b('k'))?.toString()).toBe('2');
    e.put(b('k'), b('3'));
    e.put(b('n'), b('4'));
    expect(e.get(b('k'))?.toString()).toBe('3');
    expect((await collect(e.range({}))).map(([k, v]) => `${k}=${v}`)).toEqual(['k=3', 'n=4']);
    await e.commit(checkpoint);
    expect(e.get(b('k'))?.toString()).toBe('3');
    expect(e.pendingBytes()).toBe(0);
    await e.close();
  });

  it('counts a key once when its staged writes were read before the commit', async () => {
    const e = await engine();
    for (let i = 0; i < 3; i++) e.put(b('k'), b(String(i)));
    e.put(b('d'), b('1'));
    expect(e.get(b('d'))?.toString()).toBe('1');
    e.put(b('k'), b('9'));
    await e.commit(checkpoint);
    expect(e.approximateNumEntries()).toBe(2);
    await e.close();
  });

  it('a range delete drops the staged writes it covers, not later ones', async () => {
    const e = await engine();
    e.put(b('a1'), b('x'));
    e.put(b('b1'), b('x'));
    e.deleteRange({ gte: b('a'), lt: b('b') });
    e.put(b('a2'), b('y'));
    await e.commit(checkpoint);
    expect((await collect(e.range({}))).map(([k]) => k.toString())).toEqual(['a2', 'b1']);
    await e.close();
  });
});

describe('LevelEngine entry count', () => {
  it('is kept with the data, so a reopened store knows it without reading its keys', async () => {
    const dir = tempStateDir();
    dirs.push(dir);
    const first = new LevelEngine('s', dir.dir);
    await first.open();
    for (let i = 0; i < 5; i++) first.put(b(`k${i}`), b('v'));
    await first.commit(checkpoint);
    await first.writeBatch(
      [
        [b('r1'), b('v')],
        [b('r2'), b('v')],
        [b('k0'), null],
      ],
      checkpoint,
    );
    await first.close();
    // Keys written behind the engine's back are not read at open: the count comes from the last batch.
    const raw = new ClassicLevel<Uint8Array, Uint8Array>(dir.dir, {
      keyEncoding: 'view',
      valueEncoding: 'view',
    });
    await raw.put(Uint8Array.of(0x01, 0x7a), b('stray'));
    await raw.close();
    const second = new LevelEngine('s', dir.dir);
    await second.open();
    expect(second.approximateNumEntries()).toBe(6);
    await second.close();
  });

  it('counts the committed keys a range delete removed', async () => {
    const dir = tempStateDir();
    dirs.push(dir);
    const first = new LevelEngine('s', dir.dir);
    await first.open();
    for (const k of ['a1', 'a2', 'b1']) first.put(b(k), b('v'));
    await first.commit(checkpoint);
    first.deleteRange({ gte: b('a'), lt: b('b') });
    first.put(b('a2'), b('again'));
    await first.commit(checkpoint);
    expect(first.approximateNumEntries()).toBe(2);
    await first.close();
    const second = new LevelEngine('s', dir.dir);
    await second.open();
    expect(second.approximateNumEntries()).toBe(2);
    expect((await collect(second.range({}))).map(([k, v]) => `${k}=${v}`)).toEqual(['a2=again', 'b1=v']);
    await second.close();
  });

  it('is counted once for a store written without one', async () => {
    const dir = tempStateDir();
    dirs.push(dir);
    const raw = new ClassicLevel<Uint8Array, Uint8Array>(dir.dir, {
      keyEncoding: 'view',
      valueEncoding: 'view',
    });
    for (let i = 0; i < 3; i++) await raw.put(Uint8Array.of(0x01, 0x61 + i), b('v'));
    await raw.close();
    const e = new LevelEngine('s', dir.dir);
    await e.open();
    expect(e.approximateNumEntries()).toBe(3);
    await e.close();
  });
});
