// Process helpers shared by the scripts that run a local server for tests (the Kafka broker, the schema registry):
// a pid file, a start that survives a port briefly held by another socket, a readiness poll that notices an early
// exit, and a stop that escalates to SIGKILL.
import {
  closeSync,
  existsSync,
  fstatSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
} from 'node:fs';
import net from 'node:net';

export function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pid written in `pidFile`, when that process still runs. */
export function readPid(pidFile) {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 && pidAlive(pid) ? pid : undefined;
}

/**
 * Polls `answers()` until it resolves true; fails when process `pid` exits first (with the tail of `logFile` and the
 * last errors of `serverLog`, where the server's own logging goes) or after `timeoutMs`. `what` names the server in
 * messages.
 */
export async function waitUntilAnswers({ pid, answers, timeoutMs, logFile, serverLog, what, where }) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await answers()) return;
    if (!pidAlive(pid)) {
      const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-3000) : '';
      const errors = serverLog ? lastErrors(serverLog) : '';
      throw new Error(`the ${what} exited during start; see ${where}\n${tail}${errors}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the ${what} did not answer within ${timeoutMs} ms; see ${where}`);
}

/** The last ERROR and FATAL lines of the end of `file` (its last 256 KiB), or ''. */
function lastErrors(file, lines = 8) {
  if (!existsSync(file)) return '';
  const size = statSync(file).size;
  const found = readFrom(file, Math.max(0, size - 256 * 1024))
    .split('\n')
    .filter((l) => /\b(ERROR|FATAL)\b/.test(l))
    .slice(-lines)
    .map((l) => l.slice(0, 400));
  return found.length > 0 ? `\nits last errors:\n${found.join('\n')}` : '';
}

/** What `file` holds from byte `start` on ('' when it does not exist). */
export function readFrom(file, start) {
  if (!existsSync(file)) return '';
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(Math.max(0, fstatSync(fd).size - start));
    readSync(fd, buf, 0, buf.length, start);
    return buf.toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** Resolves true when nothing holds `port` on `host` (a listen on it succeeds). */
export function portFree(host, port) {
  return new Promise((done) => {
    const server = net.createServer();
    server.once('error', () => done(false));
    server.listen(port, host, () => server.close(() => done(true)));
  });
}

const bindFailure = /failed to bind|Address already in use|BindException|Port \d+ seems to be in use/;

/**
 * Starts a server whose fixed `ports` on `host` lie in Linux's ephemeral range (32768-60999), so a client's socket
 * can hold one while the server is down (a connection to the closed port may even connect to itself). Waits until
 * the ports are free, calls `spawnServer()` (which returns the pid) and `waitReady(pid, timeoutMs)`; when the server
 * still failed to bind (a socket took the port between the check and the bind), kills it and starts it again, up to
 * 5 times. `logFiles` are where the server reports a failed bind.
 */
export async function startOnFixedPorts({
  host,
  ports,
  logFiles,
  spawnServer,
  waitReady,
  timeoutMs,
  what,
  log,
}) {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    let waitingSaid = false;
    for (const port of ports) {
      while (!(await portFree(host, port))) {
        if (Date.now() > deadline)
          throw new Error(`port ${port} of the ${what} stayed in use for ${timeoutMs} ms`);
        if (!waitingSaid) log(`port ${port} of the ${what} is in use; waiting for it to be free`);
        waitingSaid = true;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const starts = logFiles.map((f) => (existsSync(f) ? statSync(f).size : 0));
    const bindFailed = () => bindFailure.test(logFiles.map((f, i) => readFrom(f, starts[i])).join(''));
    const pid = spawnServer();
    // A server that failed to bind can take minutes to shut down: it is killed at once, and started again below.
    const watch = setInterval(() => {
      if (pidAlive(pid) && bindFailed()) process.kill(pid, 'SIGKILL');
    }, 500);
    try {
      // A start again after a failed bind gets at least a minute: a loaded machine takes that long to start a server.
      return await waitReady(pid, Math.max(attempt > 1 ? 60_000 : 1, deadline - Date.now()));
    } catch (err) {
      if (pidAlive(pid) || !bindFailed() || attempt >= 5) throw err;
      log(`the ${what} could not bind a port (held by another socket); starting it again`);
    } finally {
      clearInterval(watch);
    }
  }
}

/** Stops the process of `pidFile` (SIGTERM, then SIGKILL after the timeout) and removes the pid file. */
export async function stopDaemon({ pidFile, timeoutMs, log, what }) {
  const pid = readPid(pidFile);
  if (pid) {
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + timeoutMs;
    while (pidAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    if (pidAlive(pid)) {
      log(`${what} ${pid} did not stop within ${timeoutMs} ms; killing it`);
      process.kill(pid, 'SIGKILL');
    }
    log(`${what} ${pid} stopped`);
  }
  rmSync(pidFile, { force: true });
}
