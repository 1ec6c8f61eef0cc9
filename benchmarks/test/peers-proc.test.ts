import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cpuTicks, ProcessSampler, ProcReadError, peakRssBytes } from '../peers/proc.js';

const STATUS = [
  'Name:\tjava',
  'State:\tS (sleeping)',
  'Pid:\t4242',
  'VmPeak:\t 8123456 kB',
  'VmSize:\t 8000000 kB',
  'VmHWM:\t  612344 kB',
  'VmRSS:\t  598000 kB',
  'Threads:\t42',
  '',
].join('\n');

/** A stat line whose command name holds a space and a ')': utime 1234, stime 56. */
const STAT =
  '4242 (my ) app) S 1 4242 4242 0 -1 4194560 51234 0 12 0 1234 56 7 8 20 0 42 0 100 8000000000 149586 ' +
  '18446744073709551615 1 1 0 0 0 0 0 4096 17415 0 0 0 17 1 0 0 0 0 0\n';

function code(read: () => unknown): string | undefined {
  try {
    read();
  } catch (error) {
    return error instanceof ProcReadError ? error.code : 'not a ProcReadError';
  }
  return undefined;
}

describe('peakRssBytes', () => {
  it('reads the VmHWM line (the peak), not VmRSS or VmPeak', () => {
    expect(peakRssBytes(STATUS)).toBe(612_344 * 1024);
  });

  it('reads the status of this process', () => {
    const bytes = peakRssBytes(readFileSync('/proc/self/status', 'utf8'));
    expect(bytes).toBeGreaterThanOrEqual(process.memoryUsage().rss * 0.5);
  });

  it('refuses a status without VmHWM (a kernel thread) with a typed error', () => {
    expect(code(() => peakRssBytes(STATUS.replace(/^VmHWM:.*\n/m, '')))).toBe('PROC_UNREADABLE');
  });

  it('refuses a VmHWM line it cannot read rather than guessing', () => {
    expect(() => peakRssBytes(STATUS.replace('612344 kB', 'lots'))).toThrow(/unreadable line/);
    expect(code(() => peakRssBytes(STATUS.replace('612344 kB', '612344 pages')))).toBe('PROC_UNREADABLE');
  });
});

describe('cpuTicks', () => {
  it('adds utime and stime, counting fields after the last parenthesis of the command name', () => {
    expect(cpuTicks(STAT)).toBe(1234 + 56);
  });

  it('reads the stat of this process', () => {
    expect(cpuTicks(readFileSync('/proc/self/stat', 'utf8'))).toBeGreaterThanOrEqual(0);
  });

  it('refuses a truncated stat line with a typed error', () => {
    expect(code(() => cpuTicks('4242 (java) S 1 4242'))).toBe('PROC_UNREADABLE');
    expect(code(() => cpuTicks('garbage'))).toBe('PROC_UNREADABLE');
  });
});

describe('ProcessSampler', () => {
  it('keeps the figures of a live process, and nothing for one that is gone', () => {
    const own = new ProcessSampler(process.pid, 10_000);
    const usage = own.stop();
    expect(usage.peakRssBytes).toBeGreaterThan(0);
    expect(usage.cpuSeconds).toBeGreaterThan(0);
    expect(new ProcessSampler(2 ** 22 + 1, 10_000).stop()).toEqual({ peakRssBytes: 0, cpuSeconds: 0 });
  });
});
