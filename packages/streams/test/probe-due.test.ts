// When a member with warm-up replicas asks the group for a probing rebalance.
import { describe, expect, it } from 'vitest';
import { probeDue, REPEATED_PROBE_BACKOFF_MS } from '../src/runtime/rebalance-handler.js';

const base = {
  caughtUp: true,
  overdue: false,
  repeat: false,
  sinceLastProbeMs: 0,
  repeatedProbes: 0,
  intervalMs: 120_000,
};

describe('probeDue', () => {
  it('asks as soon as new warm-ups caught up, and not before, unless the probing interval passed', () => {
    expect(probeDue(base)).toBe(true);
    expect(probeDue({ ...base, caughtUp: false })).toBe(false);
    expect(probeDue({ ...base, caughtUp: false, overdue: true })).toBe(true);
  });

  it('asks again for the same warm-ups only after a backoff that doubles with each repeat, capped by the interval', () => {
    const repeat = { ...base, repeat: true };
    expect(probeDue({ ...repeat, sinceLastProbeMs: REPEATED_PROBE_BACKOFF_MS - 1 })).toBe(false);
    expect(probeDue({ ...repeat, sinceLastProbeMs: REPEATED_PROBE_BACKOFF_MS })).toBe(true);
    expect(
      probeDue({ ...repeat, repeatedProbes: 2, sinceLastProbeMs: 4 * REPEATED_PROBE_BACKOFF_MS - 1 }),
    ).toBe(false);
    expect(probeDue({ ...repeat, repeatedProbes: 2, sinceLastProbeMs: 4 * REPEATED_PROBE_BACKOFF_MS })).toBe(
      true,
    );
    expect(probeDue({ ...repeat, repeatedProbes: 30, sinceLastProbeMs: 119_999 })).toBe(false);
    expect(probeDue({ ...repeat, repeatedProbes: 30, sinceLastProbeMs: 120_000 })).toBe(true);
  });
});
