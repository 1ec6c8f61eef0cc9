// For the demo: runs the orders app as a child process the way a pod runs it, keeps its log lines, and reads its
// HTTP endpoints (metrics, probes, queries).
import { type ChildProcess, spawn } from 'node:child_process';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { resolve } from 'node:path';

const repoRoot = resolve(import.meta.dirname, '..', '..');

export interface AppProcess {
  readonly child: ChildProcess;
  readonly port: number;
  /** The last lines the app wrote (stdout and stderr). */
  recentLines(count?: number): string[];
  /** Resolves with the exit code (or signal name) once the process ends. */
  readonly exited: Promise<number | string>;
}

/** Starts `tsx examples/orders/app.ts <prefix>`; `onLine` sees each line the app writes. */
export function startOrdersApp(
  prefix: string,
  port: number,
  env: Record<string, string>,
  onLine: (line: string) => void,
): AppProcess {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=eddy-source', 'examples/orders/app.ts', prefix],
    {
      cwd: repoRoot,
      env: { ...process.env, ...env, HTTP_PORT: String(port), HTTP_HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines: string[] = [];
  const reader = () => {
    let partial = '';
    return (chunk: Buffer) => {
      const parts = (partial + chunk.toString()).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        if (lines.length > 200) lines.shift();
        onLine(line);
      }
    };
  };
  child.stdout?.on('data', reader());
  child.stderr?.on('data', reader());
  const exited = new Promise<number | string>((done) => {
    child.on('exit', (code, signal) => done(code ?? signal ?? -1));
  });
  return { child, port, recentLines: (count = 10) => lines.slice(-count), exited };
}

/** A TCP port free at the time of the call. */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

/** GET http://127.0.0.1:<port><path>; status 0 when nothing answers yet. */
export function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((done) => {
    const request = get({ host: '127.0.0.1', port, path, timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        body += d;
      });
      res.on('end', () => done({ status: res.statusCode ?? 0, body }));
      res.on('error', () => done({ status: 0, body }));
    });
    request.on('timeout', () => request.destroy());
    request.on('error', (err) => done({ status: 0, body: err.message }));
  });
}

/** The value of an unlabelled metric in a Prometheus text page, or undefined. */
export function metricValue(page: string, name: string): number | undefined {
  const line = page.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}
