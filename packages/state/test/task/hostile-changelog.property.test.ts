// Restoring changelog records that the store did not write: the batch is refused with INVALID_CHANGELOG_RECORD naming
// the store and the record, and nothing of it is applied; records the store wrote restore as before.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

// Many runs each: generous on a loaded machine.
const slow = { timeout: 60_000 };

import {
  encodeSourceMarks,
  isStateStoreError,
  keyValueStore,
  type RestoreRecord,
  SOURCE_MARKS_HEADER,
  sessionStore,
  TaskStateManager,
  windowStore,
} from '../../src/index.js';
import { utf8 } from '../helpers.js';

const times = { retentionMs: 1000, segmentIntervalMs: 100 };
const kinds = ['window', 'session', 'kv'] as const;
type Kind = (typeof kinds)[number];

async function open(kind: Kind) {
  const manager = new TaskStateManager({ applicationId: 'app', taskId: '0_0', partition: 3 });
  const options = { name: 's', keySerde: utf8, valueSerde: utf8, persistent: false };
  const stores = {
    window: kind === 'window' ? manager.register(windowStore({ ...options, ...times })) : undefined,
    session: kind === 'session' ? manager.register(sessionStore({ ...options, ...times })) : undefined,
    kv: kind === 'kv' ? manager.register(keyValueStore(options)) : undefined,
  };
  await manager.open();
  manager.setSourcePosition('in', 3, 1);
  return { manager, ...stores };
}

/** The changelog records a store of `kind` writes for some puts, at offsets from 0. */
async function written(kind: Kind, puts: readonly [string, number][]): Promise<RestoreRecord[]> {
  const s = await open(kind);
  for (const [key, time] of puts) {
    s.window?.put(key, `v${time}`, time);
    s.session?.put(key, { start: Math.max(0, time - 5), end: time }, `v${time}`);
    s.kv?.put(key, `v${time}`);
  }
  const records = s.manager.prepareCommit().map((r, i) => ({
    offset: BigInt(i),
    key: r.key,
    value: r.value,
    headers: r.headers,
  }));
  await s.manager.close();
  return records;
}

const putsArb = fc.array(fc.tuple(fc.string({ maxLength: 6 }), fc.integer({ min: 0, max: 5000 })), {
  minLength: 1,
  maxLength: 8,
});

/** A record not written by the store: random key and value bytes, a null value, or a forged `eddy.src` header. */
const foreignArb = fc.record({
  key: fc.uint8Array({ maxLength: 40 }),
  value: fc.option(fc.uint8Array({ maxLength: 40 })),
  header: fc.option(
    fc.oneof(
      fc.uint8Array({ maxLength: 30 }),
      fc.constant(Buffer.of(1, 0, 1, 0, 2)),
      fc.constant(
        Buffer.concat([encodeSourceMarks([{ topic: 'in', partition: 3, offset: 1 }]), Buffer.of(0)]),
      ),
    ),
  ),
});

describe.each(kinds)('restoring a %s store', (kind) => {
  it('applies what the store wrote, whatever it was', slow, async () => {
    await fc.assert(
      fc.asyncProperty(putsArb, async (puts) => {
        const records = await written(kind, puts);
        const s = await open(kind);
        await s.manager.applyRestoreBatch('s', records);
        expect(s.manager.checkpoint('s')?.changelogOffset).toBe(BigInt(records.length - 1));
        // The latest window is inside retention; a key's last put is its value.
        const [key, time] = puts.reduce((a, b) => (b[1] > a[1] ? b : a));
        if (s.window) expect(s.window.fetch(key, time)).toBe(`v${time}`);
        const [lastKey, lastTime] = puts[puts.length - 1]!;
        if (s.kv) expect(s.kv.get(lastKey)).toBe(`v${lastTime}`);
        await s.manager.close();
      }),
      { numRuns: 50 },
    );
  });

  it(
    'refuses a batch with a record it did not write, naming store and offset, and applies none of it',
    slow,
    async () => {
      await fc.assert(
        fc.asyncProperty(putsArb, foreignArb, fc.nat(), async (puts, foreign, at) => {
          const records = await written(kind, puts);
          const position = at % (records.length + 1);
          records.splice(position, 0, {
            offset: 'x',
            key: foreign.key,
            value: foreign.value,
            ...(foreign.header === null ? {} : { headers: { [SOURCE_MARKS_HEADER]: foreign.header } }),
          });
          records.forEach((r, i) => {
            r.offset = BigInt(i);
          });
          const s = await open(kind);
          const before = s.manager.checkpoint('s');
          let error: unknown;
          try {
            await s.manager.applyRestoreBatch('s', records);
          } catch (err) {
            error = err;
          }
          await s.manager.close().catch(() => undefined);
          if (error === undefined) {
            // Only a plain key-value store takes any key and value; a forged header is never taken.
            expect(kind).toBe('kv');
            expect(foreign.header).toBeNull();
            return;
          }
          expect(isStateStoreError(error, 'INVALID_CHANGELOG_RECORD')).toBe(true);
          expect((error as Error).message).toContain(`"s"`);
          expect((error as Error).message).toContain(`s-changelog-3@${position}`);
          expect(s.manager.checkpoint('s')).toEqual(before);
        }),
        { numRuns: 300 },
      );
    },
  );
});

describe('restoring a window store', () => {
  it('refuses a key one byte short of its layout', slow, async () => {
    const [record] = await written('window', [['k', 250]]);
    const s = await open('window');
    const short = { ...record!, key: record!.key.subarray(0, record!.key.length - 1) };
    await expect(s.manager.applyRestoreBatch('s', [short])).rejects.toMatchObject({
      code: 'INVALID_CHANGELOG_RECORD',
      store: 's',
    });
    await s.manager.close();
  });
});
