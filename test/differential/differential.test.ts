// Same answers as Kafka Streams: each scenario's Eddy topology and its Kafka Streams twin read the same generated
// input on the broker; their outputs must match (last value per key, and every value and record timestamp per key
// where the semantics fix the sequence). DIFFERENTIAL_SCENARIOS=a,b runs only those; DIFFERENTIAL_PENDING=1 also
// runs the Kafka Streams side of scenarios whose Eddy topology is pending; DIFFERENTIAL_SCALE=n generates n times
// the records. See test/differential/README.md.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerList, testKafka } from '../support/kafka.js';
import { DifferentialRun } from './harness.js';
import { finals, sequences, timestamps } from './outputs.js';
import { scenarios } from './scenarios.js';

const only = process.env.DIFFERENTIAL_SCENARIOS?.split(',').filter(Boolean);
const unknown = only?.filter((name) => !scenarios.some((s) => s.name === name)) ?? [];
if (unknown.length > 0)
  throw new Error(`DIFFERENTIAL_SCENARIOS names unknown scenarios: ${unknown.join(', ')}`);
const selected = scenarios.filter((s) => !only || only.includes(s.name));
const runPending = process.env.DIFFERENTIAL_PENDING === '1';
const scale = Number(process.env.DIFFERENTIAL_SCALE ?? 1);
if (!Number.isInteger(scale) || scale < 1) throw new Error('DIFFERENTIAL_SCALE must be a positive integer');
const running = selected.filter((s) => s.eddy !== undefined || runPending);

describe('same answers as Kafka Streams', () => {
  let run: DifferentialRun | undefined;
  beforeAll(async () => {
    if (running.length === 0) return;
    run = new DifferentialRun(running, { kafka: testKafka(), brokers: brokerList(), scale });
    await run.start();
  }, 300_000);
  afterAll(async () => {
    await run?.close();
  }, 120_000);

  for (const scenario of selected) {
    const title = `${scenario.name}: ${scenario.covers}`;
    if (scenario.eddy === undefined) {
      if (!runPending) {
        it.skip(`${title} (Eddy topology pending)`, () => {});
        continue;
      }
      it(`${title} (Kafka Streams side only: Eddy topology pending)`, async () => {
        const result = await run!.result(scenario.name);
        expect(result.kstreams.length).toBeGreaterThan(0);
      }, 240_000);
      continue;
    }
    // A known difference is expected to fail until the code catches up; then `it.fails` fails and must go.
    const test = scenario.knownDifference ? it.fails : it;
    const known = scenario.knownDifference
      ? ` (known difference: ${scenario.knownDifference})`
      : scenario.knownTimestampDifference
        ? ` (known timestamp difference: ${scenario.knownTimestampDifference})`
        : '';
    test(`${title}${known}`, async () => {
      const { kstreams, eddy } = await run!.result(scenario.name);
      expect(kstreams.length, 'Kafka Streams wrote no output').toBeGreaterThan(0);
      expect(finals(eddy!), 'last value per key').toEqual(finals(kstreams));
      if (scenario.compare === 'sequence') {
        expect(sequences(eddy!), 'values per key').toEqual(sequences(kstreams));
        if (scenario.knownTimestampDifference)
          expect(
            timestamps(eddy!),
            'the timestamps agree now: remove the knownTimestampDifference marker',
          ).not.toEqual(timestamps(kstreams));
        else if (!scenario.timestampsVary)
          expect(timestamps(eddy!), 'timestamps per key').toEqual(timestamps(kstreams));
      }
    }, 240_000);
  }
});
