// Process helpers shared by the scripts that run a local server for tests (the Kafka broker, the schema registry):
// a pid file, a readiness poll that notices an early exit, and a stop that escalates to SIGKILL.
import { existsSync, readFileSync, rmSync } from 'node:fs';

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
 * Polls `answers()` until it resolves true; fails when process `pid` exits first (with the tail of `logFile`) or
 * after `timeoutMs`. `what` names the server in messages.
 */
export async function waitUntilAnswers({ pid, answers, timeoutMs, logFile, what, where }) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await answers()) return;
    if (!pidAlive(pid)) {
      const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-3000) : '';
      throw new Error(`the ${what} exited during start; see ${where}\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the ${what} did not answer within ${timeoutMs} ms; see ${where}`);
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
