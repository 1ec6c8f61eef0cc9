// A DSL app that rekeys with `groupBy` and counts, against the broker, under both guarantees: SIGKILLed mid-stream
// and restarted on its volume, it ends with exact counts per customer in its stores and in its output.
import { describe, expect, it } from 'vitest';
import { DSL_COUNT_STORE } from '../support/apps/dsl-rekey-count.js';
import { appProcesses } from '../support/processes.js';
import { countsIn, runRekeyCrash } from '../support/rekey-crash.js';

const INPUT_PARTITIONS = 3;
const apps = appProcesses();

describe.each(['at-least-once', 'exactly-once'] as const)('a DSL rekey and count (%s)', (guarantee) => {
  it('counts every order exactly once per customer across a SIGKILL, through the repartition topic the DSL inserts', async () => {
    const { applicationId, stateDir, expected, outputs } = await runRekeyCrash(apps, {
      script: 'test/support/apps/dsl-rekey-count.ts',
      guarantee,
      prefix: 'dsl-rekey',
      inputPartitions: INPUT_PARTITIONS,
      customers: 40,
      total: 4_000,
    });
    // The counting subtopology (1) has as many tasks as the repartition topic has partitions: by default the
    // input's count.
    expect(
      await countsIn(stateDir, applicationId, {
        store: DSL_COUNT_STORE,
        subtopology: 1,
        partitions: INPUT_PARTITIONS,
        format: 'timestamped',
      }),
    ).toEqual(expected);
    // The last count written per customer is exact.
    expect(new Map([...outputs].map(([c, counts]) => [c, counts.at(-1)]))).toEqual(expected);
    if (guarantee === 'exactly-once') {
      // No committed output repeats or goes back: with caching a customer's counts are folded per commit, so they
      // rise strictly, ending at the total.
      for (const [c, counts] of outputs) {
        expect(
          counts.every((n, i) => i === 0 || n > counts[i - 1]!),
          `${c}: ${counts.join(',')}`,
        ).toBe(true);
      }
    }
  }, 300_000);
});
