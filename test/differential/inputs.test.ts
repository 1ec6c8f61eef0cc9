// The differential input generator: the same seed gives the same records, timestamps never tie, flush records
// land on every partition, and the partitioner agrees with the Java client's murmur2.
import { describe, expect, it } from 'vitest';
import { eventClock, FLUSH_AFTER_MS, flushRecords, partitionOf, seededRng } from './inputs.js';
import { scenarios } from './scenarios.js';

describe('differential inputs', () => {
  it('generates the same records for the same scenario, and other records for another', () => {
    for (const s of scenarios) {
      expect(s.generate(seededRng(s.name), 1), s.name).toEqual(s.generate(seededRng(s.name), 1));
    }
    const [a, b] = scenarios;
    expect(a!.generate(seededRng('one'), 1)).not.toEqual(a!.generate(seededRng('two'), 1));
    expect(b!.generate(seededRng(b!.name), 2).orders).toHaveLength(600);
  });

  it('never gives two records of a scenario the same timestamp, and puts some behind the clock', () => {
    const clock = eventClock(seededRng('clock'), {
      stepMs: [1, 3],
      outOfOrder: { p: 0.3, maxMs: 20 },
      late: { p: 0.1, minMs: 50, maxMs: 100 },
    });
    const times = Array.from({ length: 5_000 }, () => clock.next());
    expect(new Set(times).size).toBe(times.length);
    expect(times.some((t, i) => i > 0 && t < times[i - 1]!)).toBe(true);
    for (const s of scenarios) {
      const all = Object.values(s.generate(seededRng(s.name), 1)).flatMap((rs) => rs.map((r) => r.timestamp));
      expect(new Set(all).size, s.name).toBe(all.length);
    }
  });

  it('places one flush record on each partition, after the last record', () => {
    for (const partitions of [1, 2, 3, 6]) {
      const flush = flushRecords(1, partitions, 'flush', 5_000);
      expect(flush.map((r) => partitionOf(r.key, partitions))).toEqual([...Array(partitions).keys()]);
      for (const r of flush) expect(r.timestamp).toBeGreaterThanOrEqual(5_000 + FLUSH_AFTER_MS);
    }
  });

  it("partitions keys as the Java client's default partitioner (murmur2, sign bit dropped)", () => {
    // Utils.murmur2 of these keys in the Java client: -973932308, -790332482, 479470107.
    const java = (hash: number, n: number) => (hash & 0x7fffffff) % n;
    expect(partitionOf('21', 7)).toBe(java(-973932308, 7));
    expect(partitionOf('foobar', 7)).toBe(java(-790332482, 7));
    expect(partitionOf('abc', 7)).toBe(java(479470107, 7));
  });
});
