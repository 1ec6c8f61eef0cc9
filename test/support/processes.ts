// Runs example apps as child processes (TypeScript through tsx, or built JavaScript), the way they run in a pod.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach } from 'vitest';

export const repoRoot = resolve(import.meta.dirname, '..', '..');

export interface AppProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (or the signal's name) once the process ends. */
  exited: Promise<number | string>;
}

/** Starts `node --import tsx <script> ...args` from the repository root with the given environment. */
export function startApp(script: string, args: string[], env: Record<string, string>): AppProcess {
  return startNode(['--import', 'tsx', '--conditions=eddy-source', script, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
  });
}

/** Starts `node ...args` in `cwd` with exactly the environment `env`; stdout and stderr are collected. */
export function startNode(args: string[], { cwd, env }: { cwd: string; env: NodeJS.ProcessEnv }): AppProcess {
  const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout?.on('data', (d) => {
    text += d;
  });
  child.stderr?.on('data', (d) => {
    text += d;
  });
  const exited = new Promise<number | string>((done) => {
    child.on('exit', (code, signal) => done(code ?? signal ?? -1));
  });
  return { child, output: () => text, exited };
}

/**
 * For a test file that runs app processes: `start` runs one (SIGKILLed after each test if still running),
 * `stateDir` makes a temporary state directory (removed after the file).
 */
export function appProcesses(): {
  start(script: string, args: string[], env: Record<string, string>): AppProcess;
  stateDir(): string;
} {
  const running: AppProcess[] = [];
  const dirs: string[] = [];
  afterEach(() => {
    for (const p of running.splice(0)) p.child.kill('SIGKILL');
  });
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  return {
    start(script, args, env) {
      const p = startApp(script, args, env);
      running.push(p);
      return p;
    },
    stateDir() {
      const dir = mkdtempSync(join(tmpdir(), 'eddy-state-'));
      dirs.push(dir);
      return dir;
    },
  };
}
