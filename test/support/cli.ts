// Runs the eddy CLI as a real process (its TypeScript sources through tsx), as an operator would.
import { type ChildProcess, spawn } from 'node:child_process';
import { afterEach } from 'vitest';
import { brokerList, withAdmin } from './kafka.js';
import { repoRoot } from './processes.js';

export interface CliRun {
  child: ChildProcess;
  /** Resolves once the process ends: its exit code and what it printed on each stream. */
  done: Promise<{ code: number | string; stdout: string; stderr: string }>;
}

const running: ChildProcess[] = [];
afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

/** Starts `eddy ...args` against the test broker (KAFKA_BROKERS) unless `args` name other brokers. */
export function startEddy(args: string[], stdin?: string): CliRun {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=eddy-source', 'packages/cli/src/bin.ts', ...args],
    {
      cwd: repoRoot,
      env: { ...process.env, KAFKA_BROKERS: brokerList().join(',') },
      stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    },
  );
  running.push(child);
  if (stdin !== undefined) child.stdin?.end(stdin);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => {
    stdout += d;
  });
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const done = new Promise<{ code: number | string; stdout: string; stderr: string }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code: code ?? signal ?? -1, stdout, stderr }));
  });
  return { child, done };
}

/** Runs `eddy ...args` to its end. */
export function eddy(args: string[], stdin?: string): CliRun['done'] {
  return startEddy(args, stdin).done;
}

/** The arguments of `eddy drain --json` on `applicationId`'s `input`, polling every 200 ms for up to `timeoutMs`. */
export function drainArgs(applicationId: string, input: string, timeoutMs: number): string[] {
  const options = ['--input-topics', input, '--interval', '200', '--timeout', String(timeoutMs), '--json'];
  return ['drain', '--application-id', applicationId, ...options];
}

/** Runs `eddy ...args --json` to its end and parses its stdout; fails with its stderr if it exits non-zero. */
export async function eddyJson<T>(args: string[]): Promise<T> {
  const r = await eddy([...args, '--json']);
  if (r.code !== 0) throw new Error(`eddy ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** The one-line JSON error a failed `--json` command printed on stderr. */
export function errorOf(stderr: string): { code: string; message: string } {
  const lines = stderr.trim().split('\n');
  return (JSON.parse(lines[lines.length - 1]!) as { error: { code: string; message: string } }).error;
}

/** The group's committed offsets of `topic`, by partition. */
export async function committedOffsets(groupId: string, topic: string): Promise<string[]> {
  const [answer] = await withAdmin((admin) => admin.fetchOffsets({ groupId, topics: [topic] }));
  return answer!.partitions.sort((a, b) => a.partition - b.partition).map((p) => p.offset);
}
