// A loopback TCP proxy a test can cut and restore, to make a broker unreachable and reachable again, or degrade: delay
// what it forwards, stall, and reset connections at random.
import net from 'node:net';

/** How a degraded proxy mistreats traffic; every field is optional. */
export interface ProxyFaults {
  /** Each chunk is forwarded `delayMs` after it arrived, plus up to `jitterMs` at random (order is kept). */
  delayMs?: number;
  jitterMs?: number;
  /**
   * On average every `cutEveryMs` (exponentially distributed, the first within `cutEveryMs`), one open connection, at
   * random, is reset.
   */
  cutEveryMs?: number;
  /**
   * On average every `stallEveryMs` (the first within `stallEveryMs`), forwarding stops for `stallMs` in both
   * directions (data is held, not lost).
   */
  stallEveryMs?: number;
  stallMs?: number;
}

export interface TcpProxy {
  readonly port: number;
  /** Stops listening and drops every open connection: clients get refused or reset. */
  cut(): Promise<void>;
  /** Listens again on the same port. */
  restore(): Promise<void>;
  /** Mistreats traffic as `faults` says from now on (replacing earlier faults); undefined forwards plainly again. */
  degrade(faults: ProxyFaults | undefined): void;
  /** What the faults did so far. */
  readonly stats: { connections: number; resets: number; stalls: number };
  close(): Promise<void>;
}

/** Forwards 127.0.0.1:<port> (chosen by the system) to `target`; listening unless `cut` is set. */
export async function tcpProxy(
  target: { host: string; port: number },
  { cut = false } = {},
): Promise<TcpProxy> {
  const pairs = new Set<[net.Socket, net.Socket]>();
  const stats = { connections: 0, resets: 0, stalls: 0 };
  let faults: ProxyFaults | undefined;
  let stalledUntil = 0;
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  /**
   * Forwards `from` to `to`, each chunk after the current delay and any stall, strictly in order: one queue per
   * direction, written from its head (timers alone could fire out of order and corrupt the stream).
   */
  const forward = (from: net.Socket, to: net.Socket) => {
    const queue: { chunk: Buffer | null; at: number }[] = [];
    let pumping = false;
    const pump = () => {
      pumping = false;
      while (queue.length > 0 && queue[0]!.at <= Date.now()) {
        const { chunk } = queue.shift()!;
        if (to.destroyed) return;
        if (chunk === null) to.end();
        else to.write(chunk);
      }
      if (queue.length > 0) {
        pumping = true;
        later(queue[0]!.at - Date.now(), pump);
      }
    };
    const push = (chunk: Buffer | null) => {
      const f = faults;
      const delay = (f?.delayMs ?? 0) + Math.random() * (f?.jitterMs ?? 0);
      const at = Math.max(queue.at(-1)?.at ?? 0, Date.now() + delay, stalledUntil);
      queue.push({ chunk, at });
      if (!pumping) pump();
    };
    from.on('data', (chunk: Buffer) => push(chunk));
    from.on('end', () => push(null));
  };

  let server: net.Server | undefined;
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const s = net.createServer((client) => {
        const upstream = net.connect(target);
        const pair: [net.Socket, net.Socket] = [client, upstream];
        pairs.add(pair);
        stats.connections++;
        for (const sock of pair) {
          sock.on('close', () => {
            pairs.delete(pair);
            client.destroy();
            upstream.destroy();
          });
          sock.on('error', () => {
            client.destroy();
            upstream.destroy();
          });
        }
        forward(client, upstream);
        forward(upstream, client);
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        server = s;
        resolve((s.address() as net.AddressInfo).port);
      });
    });

  /**
   * Exponentially distributed wait with mean `meanMs`; the first of a spell is uniform within `meanMs`, so that a
   * spell of a few means surely holds each fault (an exponential first wait exceeds 20 s for a 6 s mean with
   * probability e^(-20/6) ≈ 3.6 %: the bad-network test once saw no stall in its 20 s).
   */
  const wait = (meanMs: number, first: boolean) =>
    first ? Math.random() * meanMs : -Math.log(1 - Math.random()) * meanMs;
  let generation = 0;
  const scheduleCuts = (g: number, meanMs: number, first = false) =>
    later(wait(meanMs, first), () => {
      if (g !== generation) return;
      const open = [...pairs];
      const victim = open[Math.floor(Math.random() * open.length)];
      if (victim !== undefined) {
        stats.resets++;
        for (const sock of victim) sock.resetAndDestroy();
      }
      scheduleCuts(g, meanMs);
    });
  const scheduleStalls = (g: number, meanMs: number, stallMs: number, first = false) =>
    later(wait(meanMs, first), () => {
      if (g !== generation) return;
      stats.stalls++;
      stalledUntil = Date.now() + stallMs;
      later(stallMs, () => scheduleStalls(g, meanMs, stallMs));
    });

  const stop = async () => {
    const s = server;
    server = undefined;
    for (const pair of pairs) for (const sock of pair) sock.destroy();
    pairs.clear();
    if (s !== undefined) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  const port = await listen(0);
  if (cut) await stop();
  return {
    port,
    stats,
    cut: stop,
    async restore() {
      if (server === undefined) await listen(port);
    },
    degrade(next) {
      faults = next;
      const g = ++generation;
      stalledUntil = 0;
      if (next?.cutEveryMs !== undefined) scheduleCuts(g, next.cutEveryMs, true);
      if (next?.stallEveryMs !== undefined) scheduleStalls(g, next.stallEveryMs, next.stallMs ?? 1_000, true);
    },
    async close() {
      generation++;
      faults = undefined;
      await stop();
      // Chunks still held are dropped with their connections.
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}
