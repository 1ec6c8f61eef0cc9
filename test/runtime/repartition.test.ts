// A topology that rekeys through a repartition topic, against the broker, under both guarantees: the app is
// SIGKILLed mid-stream and restarted on its volume; the counts per customer are exact, and the repartition topic is
// purged below the committed offsets.
import { describe, expect, it } from 'vitest';
import { REPARTITION_PARTITIONS } from '../support/apps/repartition-count.js';
import { withAdmin } from '../support/kafka.js';
import { appProcesses } from '../support/processes.js';
import { countsIn, runRekeyCrash } from '../support/rekey-crash.js';

const apps = appProcesses();

describe.each(['at-least-once', 'exactly-once'] as const)('a repartitioned count (%s)', (guarantee) => {
  it('counts every order exactly once per customer across a SIGKILL, through a repartition topic', async () => {
    const { applicationId, stateDir, expected, outputs } = await runRekeyCrash(apps, {
      script: 'test/support/apps/repartition-count.ts',
      guarantee,
      prefix: 'repartition',
      inputPartitions: 3,
      customers: 40,
      total: 6_000,
    });
    const repartition = `${applicationId}-customers-repartition`;

    // The stores hold exactly one count per order.
    expect(
      await countsIn(stateDir, applicationId, {
        store: 'customer-counts',
        subtopology: 1,
        format: 'plain',
        partitions: REPARTITION_PARTITIONS,
      }),
    ).toEqual(expected);
    // The last count written per customer is exact.
    expect(new Map([...outputs].map(([c, counts]) => [c, counts.at(-1)]))).toEqual(expected);
    if (guarantee === 'exactly-once') {
      // Every order produced exactly one committed output: each customer's counts run 1, 2, ..., n.
      for (const [c, n] of expected) {
        expect(outputs.get(c), c).toEqual(Array.from({ length: n }, (_, i) => i + 1));
      }
    }
    // Consumed records of the repartition topic were deleted, never past the committed offsets; those reach each
    // partition's end, past the last transaction's commit marker under exactly-once (no lag is left for autoscaling).
    const [groupOffsets] = await withAdmin((a) =>
      a.fetchOffsets({ groupId: applicationId, topics: [repartition] }),
    );
    const starts = await withAdmin((a) => a.fetchTopicOffsets(repartition));
    expect(starts.reduce((sum, p) => sum + Number(p.low), 0)).toBeGreaterThan(0);
    for (const p of starts) {
      const c = groupOffsets!.partitions.find((x) => x.partition === p.partition)!;
      expect(Number(p.low)).toBeLessThanOrEqual(Number(c.offset));
      expect(c.offset, `committed offset of ${repartition}:${p.partition}`).toBe(p.high);
    }
  }, 300_000);
});
