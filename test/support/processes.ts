// Runs example apps as child processes (TypeScript through tsx), the way they run in a pod.
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';

export const repoRoot = resolve(import.meta.dirname, '..', '..');

export interface AppProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (or the signal's name) once the process ends. */
  exited: Promise<number | string>;
}

/** Starts `node --import tsx <script> ...args` from the repository root with the given environment. */
export function startApp(script: string, args: string[], env: Record<string, string>): AppProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=eddy-source', script, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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
