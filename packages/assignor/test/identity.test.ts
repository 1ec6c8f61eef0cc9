import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  isAssignorError,
  loadOrCreateProcessId,
  ordinalOf,
  PROCESS_ID_FILE,
  resolveIdentity,
} from '../src/index.js';

describe('resolveIdentity', () => {
  it('prefers the explicit option, then POD_NAME, then HOSTNAME', () => {
    const env = { POD_NAME: 'app-1', HOSTNAME: 'app-2' };
    expect(resolveIdentity({ explicit: 'custom', env })).toBe('custom');
    expect(resolveIdentity({ env })).toBe('app-1');
    expect(resolveIdentity({ env: { HOSTNAME: 'app-2' } })).toBe('app-2');
  });

  it('skips empty and blank values', () => {
    expect(resolveIdentity({ explicit: ' ', env: { POD_NAME: '', HOSTNAME: 'app-2' } })).toBe('app-2');
  });

  it('throws ASSIGNOR_IDENTITY_MISSING when nothing is set', () => {
    let caught: unknown;
    try {
      resolveIdentity({ env: {} });
    } catch (err) {
      caught = err;
    }
    expect(isAssignorError(caught, 'ASSIGNOR_IDENTITY_MISSING')).toBe(true);
  });

  it('reads process.env by default', () => {
    const saved = process.env.POD_NAME;
    process.env.POD_NAME = 'app-9';
    try {
      expect(resolveIdentity()).toBe('app-9');
    } finally {
      if (saved === undefined) delete process.env.POD_NAME;
      else process.env.POD_NAME = saved;
    }
  });
});

describe('ordinalOf', () => {
  it('parses the StatefulSet ordinal', () => {
    expect(ordinalOf('app-3')).toBe(3);
    expect(ordinalOf('my-app-12')).toBe(12);
    expect(ordinalOf('app-0')).toBe(0);
  });

  it('is undefined for names without one', () => {
    expect(ordinalOf('app')).toBeUndefined();
    expect(ordinalOf('app-')).toBeUndefined();
    expect(ordinalOf('app-01')).toBeUndefined();
    expect(ordinalOf('app-x')).toBeUndefined();
  });
});

describe('loadOrCreateProcessId', () => {
  const dirs: string[] = [];
  const tempDir = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'eddy-assignor-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('creates a UUID once and loads the same one afterwards', async () => {
    const dir = join(await tempDir(), 'nested', 'state');
    const created = await loadOrCreateProcessId(dir);
    expect(created.origin).toBe('created');
    expect(created.processId).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(await loadOrCreateProcessId(dir)).toEqual({ processId: created.processId, origin: 'loaded' });
    expect((await readFile(join(dir, PROCESS_ID_FILE), 'utf8')).trim()).toBe(created.processId);
    expect(await readdir(dir)).toEqual([PROCESS_ID_FILE]);
  });

  it('throws ASSIGNOR_PROCESS_ID_CORRUPT for a file that does not hold a UUID', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, PROCESS_ID_FILE), 'garbage');
    await expect(loadOrCreateProcessId(dir)).rejects.toMatchObject({ code: 'ASSIGNOR_PROCESS_ID_CORRUPT' });
    expect(await readFile(join(dir, PROCESS_ID_FILE), 'utf8')).toBe('garbage');
  });

  it('replaces a corrupt file when asked, and says why', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, PROCESS_ID_FILE), '');
    const result = await loadOrCreateProcessId(dir, { onCorrupt: 'regenerate' });
    expect(result.origin).toBe('regenerated');
    expect(result.reason).toContain('does not hold a UUID');
    expect(await loadOrCreateProcessId(dir)).toEqual({ processId: result.processId, origin: 'loaded' });
  });

  it('throws ASSIGNOR_PROCESS_ID_IO when the state directory cannot be used', async () => {
    const dir = await tempDir();
    const file = join(dir, 'not-a-dir');
    await writeFile(file, 'x');
    await expect(loadOrCreateProcessId(file)).rejects.toMatchObject({ code: 'ASSIGNOR_PROCESS_ID_IO' });
  });
});
