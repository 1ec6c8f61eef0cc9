// A broker of a test file's own, on free loopback ports, that the test may stop, restart and put behind a TCP proxy,
// without disturbing the suite's shared broker. The app reaches it through `proxy` (the broker advertises the proxy's
// port on its PLAINTEXT listener); the test's own clients use `direct`, a second listener no proxy degrades.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { repoRoot } from './processes.js';
import { type TcpProxy, tcpProxy } from './tcp-proxy.js';

export interface PrivateBroker {
  /** Bootstrap for the app: through the proxy. */
  readonly proxied: string[];
  /** Bootstrap for the test's clients: the broker's direct listener. */
  readonly direct: string[];
  readonly proxy: TcpProxy;
  /** Starts the broker (again, on its data) and resolves once it answers. */
  start(): Promise<void>;
  /** Stops the broker cleanly (SIGTERM), keeping its data. */
  stop(): Promise<void>;
  /** Stops the broker, wipes its data and closes the proxy. Idempotent. */
  close(): Promise<void>;
}

async function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A port with the next two free too: the broker's controller and direct listeners take them. */
export async function freePortTriple(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = 40_000 + 3 * Math.floor(Math.random() * 3_000);
    if ((await isFree(port)) && (await isFree(port + 1)) && (await isFree(port + 2))) return port;
  }
  throw new Error('no three free ports in a row');
}

export async function privateBroker(): Promise<PrivateBroker> {
  const port = await freePortTriple();
  const proxy = await tcpProxy({ host: '127.0.0.1', port });
  const run = (command: 'start' | 'stop', ...args: string[]) => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      KAFKA_PORT: String(port),
      KAFKA_ADVERTISED_PORT: String(proxy.port),
      KAFKA_DIRECT_PORT: String(port + 2),
      KAFKA_HEAP: '512m',
    };
    delete env.KAFKA_BROKERS;
    return new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, ['test/kafka/broker.mjs', command, ...args], {
        cwd: repoRoot,
        env,
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      child.on('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`broker ${command} exited ${code}`)),
      );
    });
  };
  let closed: Promise<void> | undefined;
  return {
    proxied: [`127.0.0.1:${proxy.port}`],
    direct: [`127.0.0.1:${port + 2}`],
    proxy,
    start: () => run('start'),
    stop: () => run('stop'),
    close() {
      closed ??= run('stop', '--wipe').finally(() => proxy.close());
      return closed;
    },
  };
}
