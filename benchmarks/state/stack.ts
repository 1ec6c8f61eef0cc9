// The store stack the state benchmarks measure: a counting store through metered → caching → logging → LevelDB.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type KeyValueStore, keyValueStore, type Serde, TaskStateManager } from '@eddy/state';

/** UTF-8 strings; the cache key is the string as UTF-8 encodes it (lone surrogates become U+FFFD). */
export const stringSerde: Serde<string> = {
  serialize: (s) => Buffer.from(s, 'utf8'),
  cacheKey: (s) => (isWellFormed(s) ? s : toWellFormed(s)),
  deserialize: (b) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('utf8'),
};

export const int32Serde: Serde<number> = {
  // The counts stay far below 2^31: every value round-trips, so the cache may keep them unserialized until a flush.
  lossless: true,
  // A bare Uint8Array: Buffer.allocUnsafe costs ~50 ns for 4 bytes.
  serialize: (n) => {
    const b = new Uint8Array(4);
    b[0] = n >>> 24;
    b[1] = n >>> 16;
    b[2] = n >>> 8;
    b[3] = n;
    return b;
  },
  deserialize: (b) => (b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!,
};

// ES2024 string methods (Node 20 has them; the TypeScript lib here is ES2023).
const isWellFormed = (s: string) => (s as unknown as { isWellFormed(): boolean }).isWellFormed();
const toWellFormed = (s: string) => (s as unknown as { toWellFormed(): string }).toWellFormed();

export interface CountingStack {
  manager: TaskStateManager;
  counts: KeyValueStore<string, number>;
  /** Commits as the runtime would, with every changelog record acknowledged at once. */
  commit(): Promise<number>;
  close(): Promise<void>;
}

export async function openCountingStack(cacheMaxBytes: number, persistent = true): Promise<CountingStack> {
  const stateDir = mkdtempSync(join(tmpdir(), 'eddy-bench-state-'));
  const manager = new TaskStateManager({ applicationId: 'bench', taskId: '0_0', partition: 0, stateDir });
  const counts = manager.register(
    keyValueStore({
      name: 'counts',
      keySerde: stringSerde,
      valueSerde: int32Serde,
      cacheMaxBytes,
      persistent,
    }),
  );
  await manager.open();
  let nextOffset = 0n;
  return {
    manager,
    counts,
    async commit() {
      const records = manager.prepareCommit();
      nextOffset += BigInt(records.length);
      await manager.completeCommit(new Map([['bench-counts-changelog:0', nextOffset - 1n]]));
      return records.length;
    },
    async close() {
      await manager.close();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
