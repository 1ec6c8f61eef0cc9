import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PeakRssSampler, peakRssBytes, RssStatusError } from '../peers/rss.js';

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

describe('peakRssBytes', () => {
  it('reads the VmHWM line (the peak), not VmRSS or VmPeak', () => {
    expect(peakRssBytes(STATUS)).toBe(612_344 * 1024);
  });

  it('reads the status of this process', () => {
    const bytes = peakRssBytes(readFileSync('/proc/self/status', 'utf8'));
    expect(bytes).toBeGreaterThanOrEqual(process.memoryUsage().rss * 0.5);
  });

  it('refuses a status without VmHWM (a kernel thread) with a typed error', () => {
    const noHwm = STATUS.replace(/^VmHWM:.*\n/m, '');
    expect(() => peakRssBytes(noHwm)).toThrow(RssStatusError);
    try {
      peakRssBytes(noHwm);
    } catch (error) {
      expect((error as RssStatusError).code).toBe('RSS_STATUS_UNREADABLE');
    }
  });

  it('refuses a VmHWM line it cannot read rather than guessing', () => {
    expect(() => peakRssBytes(STATUS.replace('612344 kB', 'lots'))).toThrow(/unreadable line/);
    expect(() => peakRssBytes(STATUS.replace('612344 kB', '612344 pages'))).toThrow(RssStatusError);
  });
});

describe('PeakRssSampler', () => {
  it('keeps the peak of a live process and its last reading once the process is gone', () => {
    const own = new PeakRssSampler(process.pid, 10_000);
    expect(own.stop()).toBeGreaterThan(0);
    // No such process: nothing read, no error.
    const gone = new PeakRssSampler(2 ** 22 + 1, 10_000);
    expect(gone.stop()).toBe(0);
  });
});
