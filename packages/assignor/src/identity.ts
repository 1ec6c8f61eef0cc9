// Who this instance is: its stable name (pod name), its StatefulSet ordinal, and its persisted process id.

import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AssignorError } from './errors.js';

/** File in the state directory that holds the process id. */
export const PROCESS_ID_FILE = 'eddy-process-id';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface ResolveIdentityOptions {
  /** A name configured in the application; wins over the environment when given. */
  readonly explicit?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/**
 * The instance's stable name: the explicit option if given, else `POD_NAME` (set from the pod's
 * metadata in a StatefulSet), else `HOSTNAME` (which Kubernetes sets to the pod name). Empty or
 * blank values are skipped. Throws `ASSIGNOR_IDENTITY_MISSING` when none is set.
 */
export function resolveIdentity(options: ResolveIdentityOptions = {}): string {
  const env = options.env ?? process.env;
  for (const candidate of [options.explicit, env.POD_NAME, env.HOSTNAME]) {
    const name = candidate?.trim();
    if (name) return name;
  }
  throw new AssignorError(
    'ASSIGNOR_IDENTITY_MISSING',
    'no instance identity: pass one explicitly or set POD_NAME or HOSTNAME',
  );
}

/** The StatefulSet ordinal of a pod name (`app-3` → 3), or undefined when the name has none. */
export function ordinalOf(identity: string): number | undefined {
  const match = /-(0|[1-9]\d*)$/.exec(identity);
  if (match === null) return undefined;
  const ordinal = Number(match[1]);
  return Number.isSafeInteger(ordinal) ? ordinal : undefined;
}

export interface LoadProcessIdOptions {
  /** What to do with a file that exists but does not hold a UUID: throw (default) or replace it. */
  readonly onCorrupt?: 'throw' | 'regenerate';
}

export interface LoadedProcessId {
  readonly processId: string;
  /** `loaded` from the file, `created` because there was none, `regenerated` over a corrupt one. */
  readonly origin: 'loaded' | 'created' | 'regenerated';
  /** Why a corrupt file was replaced, when `origin` is `regenerated`. */
  readonly reason?: string;
}

/**
 * Reads the process id from `<stateDir>/eddy-process-id`, or creates one (a random UUID, written to
 * a temporary file, synced, then renamed into place so a crash never leaves half a file). A file
 * that does not hold a UUID throws `ASSIGNOR_PROCESS_ID_CORRUPT` unless `onCorrupt: 'regenerate'`.
 */
export async function loadOrCreateProcessId(
  stateDir: string,
  options: LoadProcessIdOptions = {},
): Promise<LoadedProcessId> {
  const path = join(stateDir, PROCESS_ID_FILE);
  let content: string | undefined;
  try {
    content = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new AssignorError('ASSIGNOR_PROCESS_ID_IO', `cannot read ${path}`, { cause: err });
    }
  }
  if (content === undefined) {
    return { processId: await writeProcessId(stateDir, path), origin: 'created' };
  }
  const trimmed = content.trim().toLowerCase();
  if (UUID.test(trimmed)) return { processId: trimmed, origin: 'loaded' };
  const reason = `${path} does not hold a UUID (${content.length} bytes)`;
  if (options.onCorrupt !== 'regenerate') {
    throw new AssignorError('ASSIGNOR_PROCESS_ID_CORRUPT', `${reason}; delete it to create a new process id`);
  }
  return { processId: await writeProcessId(stateDir, path), origin: 'regenerated', reason };
}

async function writeProcessId(stateDir: string, path: string): Promise<string> {
  const processId = randomUUID();
  const temp = `${path}.${process.pid}.${randomUUID()}.tmp`;
  try {
    await mkdir(stateDir, { recursive: true });
    const file = await open(temp, 'w');
    try {
      await file.writeFile(`${processId}\n`, 'utf8');
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, path);
    await syncDirectory(stateDir);
  } catch (err) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw new AssignorError('ASSIGNOR_PROCESS_ID_IO', `cannot write ${path}`, { cause: err });
  }
  return processId;
}

// Makes the rename durable; some platforms cannot open a directory for syncing, which is harmless.
async function syncDirectory(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // best effort
  } finally {
    await handle?.close();
  }
}
