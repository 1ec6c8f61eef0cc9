// Peak resident memory and CPU time of another process, from /proc/<pid>/status (VmHWM) and /proc/<pid>/stat (Linux).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Thrown when a /proc file has no readable figure; `code` is stable. */
export class ProcReadError extends Error {
  readonly code = 'PROC_UNREADABLE';
  constructor(file: 'status' | 'stat', reason: string) {
    super(`/proc/<pid>/${file}: ${reason}`);
    this.name = 'ProcReadError';
  }
}

const UNIT_BYTES: Record<string, number> = { B: 1, kB: 1024, mB: 1024 ** 2, gB: 1024 ** 3 };

/** The peak resident set size (bytes) in the text of /proc/<pid>/status: its `VmHWM:` line, in kB. */
export function peakRssBytes(status: string): number {
  const line = status.split('\n').find((l) => l.startsWith('VmHWM:'));
  if (line === undefined) throw new ProcReadError('status', 'no VmHWM line (a kernel thread, or not Linux)');
  const match = /^VmHWM:\s+(\d+)\s+(\w+)\s*$/.exec(line);
  const unit = match ? UNIT_BYTES[match[2]!] : undefined;
  if (!match || unit === undefined) throw new ProcReadError('status', `unreadable line '${line}'`);
  return Number(match[1]) * unit;
}

/**
 * User plus system CPU time (clock ticks) of all the process's threads, from the text of /proc/<pid>/stat: fields
 * 14 and 15. The command name (field 2) is in parentheses and may hold spaces and parentheses, so the fields are
 * counted from its last ')'.
 */
export function cpuTicks(stat: string): number {
  const end = stat.lastIndexOf(')');
  const fields =
    end < 0
      ? []
      : stat
          .slice(end + 1)
          .trim()
          .split(/\s+/);
  // fields[0] is field 3 (the state).
  const [utime, stime] = [fields[14 - 3], fields[15 - 3]];
  if (utime === undefined || stime === undefined || !/^\d+$/.test(utime) || !/^\d+$/.test(stime)) {
    throw new ProcReadError('stat', `no utime and stime in '${stat.slice(0, 120)}'`);
  }
  return Number(utime) + Number(stime);
}

let ticksPerSecond: number | undefined;

/** The kernel's clock ticks per second (`getconf CLK_TCK`; 100 on Linux almost everywhere). */
function clockTicks(): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return ticksPerSecond;
}

export interface ProcessUsage {
  /** Peak RSS (VmHWM) so far, bytes; 0 if never read. */
  peakRssBytes: number;
  /** CPU time so far (all threads, user and system), seconds. */
  cpuSeconds: number;
}

/**
 * Reads a running process's peak RSS and CPU time every `intervalMs`. Both only grow, so the last reading is the
 * figure up to then; `stop()` reads once more (if the process is still there) and returns them.
 */
export class ProcessSampler {
  private usage: ProcessUsage = { peakRssBytes: 0, cpuSeconds: 0 };
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pid: number,
    intervalMs = 250,
  ) {
    this.read();
    this.timer = setInterval(() => this.read(), intervalMs);
  }

  stop(): ProcessUsage {
    clearInterval(this.timer);
    this.read();
    return { ...this.usage };
  }

  private read(): void {
    let status: string;
    let stat: string;
    try {
      status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
      stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
    } catch {
      return; // the process has exited (or has not started): its last reading stands
    }
    this.usage = {
      peakRssBytes: Math.max(this.usage.peakRssBytes, peakRssBytes(status)),
      cpuSeconds: Math.max(this.usage.cpuSeconds, cpuTicks(stat) / clockTicks()),
    };
  }
}
