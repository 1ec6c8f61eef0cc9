// Peak resident memory of another process, from the VmHWM line of /proc/<pid>/status (Linux).
import { readFileSync } from 'node:fs';

/** Thrown when a status text has no readable VmHWM line; `code` is stable. */
export class RssStatusError extends Error {
  readonly code = 'RSS_STATUS_UNREADABLE';
  constructor(reason: string) {
    super(`no peak RSS in /proc/<pid>/status: ${reason}`);
    this.name = 'RssStatusError';
  }
}

const UNIT_BYTES: Record<string, number> = { B: 1, kB: 1024, mB: 1024 ** 2, gB: 1024 ** 3 };

/** The peak resident set size (bytes) in the text of /proc/<pid>/status: its `VmHWM:` line, in kB. */
export function peakRssBytes(status: string): number {
  const line = status.split('\n').find((l) => l.startsWith('VmHWM:'));
  if (line === undefined) throw new RssStatusError('no VmHWM line (a kernel thread, or not Linux)');
  const match = /^VmHWM:\s+(\d+)\s+(\w+)\s*$/.exec(line);
  const unit = match ? UNIT_BYTES[match[2]!] : undefined;
  if (!match || unit === undefined) throw new RssStatusError(`unreadable line '${line}'`);
  return Number(match[1]) * unit;
}

/**
 * Reads a running process's peak RSS every `intervalMs`. VmHWM only grows, so the last reading is the peak up to
 * then; `stop()` reads once more (if the process is still there) and returns it.
 */
export class PeakRssSampler {
  private peak = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pid: number,
    intervalMs = 250,
  ) {
    this.read();
    this.timer = setInterval(() => this.read(), intervalMs);
  }

  /** The peak RSS in bytes so far; 0 if no reading succeeded. */
  get peakBytes(): number {
    return this.peak;
  }

  stop(): number {
    clearInterval(this.timer);
    this.read();
    return this.peak;
  }

  private read(): void {
    let status: string;
    try {
      status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    } catch {
      return; // the process has exited (or has not started): its last reading stands
    }
    this.peak = Math.max(this.peak, peakRssBytes(status));
  }
}
