// The JVM that runs the Kafka Streams side of a differential run: one KafkaStreams instance per scenario, started
// together; waits on its RUNNING lines, and stops it with SIGTERM.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { command } from './kstreams.mjs';

/** One scenario for the JVM: see Main.java. */
export interface KStreamsRun {
  scenario: string;
  applicationId: string;
  output: string;
  inputs: string[];
}

export class KStreamsProcess {
  private readonly child: ChildProcess;
  private readonly running = new Set<string>();
  private readonly failures = new Map<string, string>();
  private readonly exited: Promise<number | string>;
  private exitedWith: number | string | undefined;
  private closing: Promise<number | string> | undefined;

  /** Starts the JVM; its stdout and stderr are appended to `logFile`. */
  constructor(brokers: string, stateDir: string, runs: KStreamsRun[], logFile: string) {
    const specs = runs.map((r) => [r.scenario, r.applicationId, r.output, r.inputs.join(',')].join('|'));
    const { command: cmd, args } = command(brokers, stateDir, specs);
    const log = createWriteStream(logFile, { flags: 'a' });
    this.child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let pending = '';
    this.child.stdout!.on('data', (chunk: Buffer) => {
      log.write(chunk);
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        const [event, applicationId, ...rest] = line.trim().split(' ');
        if (event === 'RUNNING' && applicationId) this.running.add(applicationId);
        if (event === 'FAILED' && applicationId) this.failures.set(applicationId, rest.join(' '));
      }
    });
    this.child.stderr!.pipe(log);
    this.exited = new Promise((done) => {
      this.child.on('exit', (code, signal) => {
        this.exitedWith = code ?? signal ?? -1;
        log.end();
        done(this.exitedWith);
      });
    });
  }

  /** Whether the instance reached RUNNING; throws when it failed or the JVM is gone. */
  isRunning(applicationId: string): boolean {
    const failure = this.failures.get(applicationId);
    if (failure) throw new Error(`Kafka Streams instance ${applicationId} failed: ${failure}`);
    if (this.exitedWith !== undefined) throw new Error(`the Kafka Streams JVM exited (${this.exitedWith})`);
    return this.running.has(applicationId);
  }

  /** Throws when the instance failed since it started. */
  check(applicationId: string): void {
    this.isRunning(applicationId);
  }

  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves with the exit code (0 for a clean close). */
  close(timeoutMs = 30_000): Promise<number | string> {
    this.closing ??= (async () => {
      if (this.exitedWith !== undefined) return this.exitedWith;
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
      try {
        return await this.exited;
      } finally {
        clearTimeout(timer);
      }
    })();
    return this.closing;
  }
}
