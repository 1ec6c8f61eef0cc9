// A small file system for a state directory a test fills up: a tmpfs of a given size, mounted directly as root or
// through `sudo -n`. Undefined when the machine allows neither (the test is then skipped, saying why).
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmdirSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SmallFileSystem {
  readonly dir: string;
  /** Free bytes as the file system reports them. */
  free(): number;
  /** Writes a filler file until the file system is full (ENOSPC). */
  fill(): void;
  /** Removes the filler. */
  freeUp(): void;
  /** Unmounts and removes the mount point. Idempotent. */
  close(): void;
}

function mount(args: string[]): boolean {
  const asRoot = process.getuid?.() === 0;
  const r = asRoot ? spawnSync('mount', args) : spawnSync('sudo', ['-n', 'mount', ...args]);
  return r.status === 0;
}

/** Mounts a tmpfs of `sizeBytes`; undefined (with the reason in `why`) when mounting is not allowed here. */
export function smallFileSystem(sizeBytes: number): SmallFileSystem | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-small-fs-'));
  if (!mount(['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0700`, 'tmpfs', dir])) {
    rmdirSync(dir);
    return undefined;
  }
  const filler = join(dir, 'filler');
  let closed = false;
  return {
    dir,
    free: () => {
      const s = statfsSync(dir);
      return s.bavail * s.bsize;
    },
    fill() {
      const fd = openSync(filler, 'a');
      const chunk = Buffer.alloc(4096, 1);
      try {
        for (;;) writeSync(fd, chunk);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      } finally {
        closeSync(fd);
      }
    },
    freeUp: () => rmSync(filler, { force: true }),
    close() {
      if (closed) return;
      closed = true;
      const args = ['-l', dir];
      if (process.getuid?.() === 0) spawnSync('umount', args);
      else spawnSync('sudo', ['-n', 'umount', ...args]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
