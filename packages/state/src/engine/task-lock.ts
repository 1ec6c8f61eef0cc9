// The lock of a task directory: a file naming the owner process (pid and run token), created exclusively; a dead
// owner's lock is taken over.
import { randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { StateStoreError } from '../errors.js';

export const LOCK_FILE = '.lock';

/** Lock files this thread holds. */
const heldHere = new Set<string>();

/**
 * Names this run of the process, shared by its worker threads (they inherit the environment of the thread that
 * starts them, and each has its own `heldHere`): a lock naming our pid and this token is held by a live thread of
 * this process; our pid with another token (or none) was left by an earlier process that had the same pid. The pid
 * prefix tells a value inherited from a parent process apart from our own.
 */
const RUN_TOKEN_VARIABLE = 'EDDY_STATE_LOCK_RUN';

function runToken(): string {
  const current = process.env[RUN_TOKEN_VARIABLE];
  if (current?.startsWith(`${process.pid}:`)) return current;
  const token = `${process.pid}:${randomUUID()}`;
  process.env[RUN_TOKEN_VARIABLE] = token;
  return token;
}

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
      const { pid: owner, token } = readOwner(this.path);
      // In a container the app is often pid 1 in every incarnation: our own pid with another run token means the
      // previous incarnation died holding it; with our token, a thread of this process holds it.
      const stale =
        owner !== undefined &&
        (owner === process.pid ? token !== runToken() && !heldHere.has(this.path) : !isAlive(owner));
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
      writeSync(fd, `${process.pid} ${runToken()}`);
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

/** The owner a lock file names: `<pid> <run token>`, or a bare pid as older versions wrote it. */
function readOwner(path: string): { pid?: number; token?: string } {
  try {
    const [first, token] = readFileSync(path, 'utf8').trim().split(' ');
    const pid = Number.parseInt(first ?? '', 10);
    if (!Number.isInteger(pid) || pid <= 0) return {};
    return token === undefined ? { pid } : { pid, token };
  } catch {
    return {};
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
