// The lock of a task directory: a file holding the owner's pid, created exclusively; a dead owner's lock is taken over.
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { StateStoreError } from '../errors.js';

export const LOCK_FILE = '.lock';

/** Lock files this process holds: a file naming our pid that is not in here was left by an earlier process. */
const heldHere = new Set<string>();

export class TaskLock {
  private held = false;

  private constructor(readonly path: string) {}

  /** Takes the lock of `taskDir` or throws STORE_LOCKED while a live process holds it. */
  static acquire(taskDir: string): TaskLock {
    mkdirSync(taskDir, { recursive: true });
    const lock = new TaskLock(join(taskDir, LOCK_FILE));
    lock.take(true);
    return lock;
  }

  private take(mayTakeOver: boolean): void {
    let fd: number;
    try {
      fd = openSync(this.path, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new StateStoreError('STORE_OPEN_FAILED', `cannot create lock file ${this.path}`, {
          cause: err,
        });
      }
      const owner = readOwner(this.path);
      // In a container the app is often pid 1 in every incarnation: our own pid on a lock we do not hold means
      // the previous incarnation died holding it.
      const stale =
        owner !== undefined && (owner === process.pid ? !heldHere.has(this.path) : !isAlive(owner));
      if (mayTakeOver && stale) {
        rmSync(this.path, { force: true });
        this.take(false);
        return;
      }
      throw new StateStoreError(
        'STORE_LOCKED',
        `task directory is locked by process ${owner ?? 'unknown'} (${this.path})`,
        { cause: err },
      );
    }
    try {
      writeSync(fd, String(process.pid));
    } finally {
      closeSync(fd);
    }
    this.held = true;
    heldHere.add(this.path);
  }

  /** Removes the lock file; idempotent. */
  release(): void {
    if (!this.held) return;
    this.held = false;
    heldHere.delete(this.path);
    rmSync(this.path, { force: true });
  }
}

function readOwner(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
