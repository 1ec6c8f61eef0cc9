// Test helpers: temporary state directories and a task state manager driven like the runtime drives it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StoreBuilder } from '../src/index.js';
import { TaskStateManager } from '../src/index.js';

export function tempStateDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-state-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Acks every changelog record at once, numbering offsets per topic-partition like a broker would. */
export class ImmediateAcks {
  private readonly next = new Map<string, bigint>();

  ack(records: readonly { topic: string; partition: number }[]): Map<string, bigint> {
    const last = new Map<string, bigint>();
    for (const r of records) {
      const tp = `${r.topic}:${r.partition}`;
      const offset = this.next.get(tp) ?? 0n;
      this.next.set(tp, offset + 1n);
      last.set(tp, offset);
    }
    return last;
  }
}

export async function commit(manager: TaskStateManager, acks: ImmediateAcks): Promise<void> {
  const records = manager.prepareCommit();
  await manager.completeCommit(acks.ack(records));
}

export async function openManager<S>(
  stateDir: string | undefined,
  builder: StoreBuilder<S>,
  taskId = '0_0',
): Promise<{ manager: TaskStateManager; store: S }> {
  const manager = new TaskStateManager({ applicationId: 'app', taskId, partition: 0, stateDir });
  const store = manager.register(builder);
  await manager.open();
  return { manager, store };
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/** UTF-8 strings, for keys and values in tests. */
export const utf8 = {
  serialize: (s: string) => Buffer.from(s),
  deserialize: (b: Uint8Array) => Buffer.from(b).toString(),
};

/**
 * Runs a script of `test/fixtures` in a child process whose files may not grow past 512 KiB (a write beyond fails,
 * as on a full disk), with `stateDir` as its argument; returns its stderr and stdout.
 */
export function runWithFileSizeLimit(fixture: string, stateDir: string): { stderr: string; stdout: string } {
  const script = join(import.meta.dirname, 'fixtures', fixture);
  return spawnSync(
    'bash',
    [
      '-c',
      `ulimit -f 512; exec "${process.execPath}" --conditions=eddy-source --import tsx "${script}" "${stateDir}"`,
    ],
    { cwd: join(import.meta.dirname, '../../..'), encoding: 'utf8' },
  );
}
