// A DSL app that rekeys orders by customer (`groupBy`, so through a repartition topic the DSL inserts) and counts
// them per customer: `dsl-rekey-count.ts <input> <output>`, configured as `run-from-env.ts` says. The output is each
// customer's count as a decimal string.
import { Serdes, StreamsBuilder, type Topology } from '@eddy/streams';
import { runFromEnv } from './run-from-env.js';

/** The store of the counts, in subtopology 1 (after the repartition topic `<applicationId>-customers-repartition`). */
export const DSL_COUNT_STORE = 'customer-counts';

export function dslRekeyCountTopology(input: string, output: string): Topology {
  const builder = new StreamsBuilder();
  builder
    .stream(input, { keySerde: Serdes.string(), valueSerde: Serdes.string() })
    // The value is the customer: it becomes the key.
    .groupBy((_order, customer) => customer, { name: 'customers', keySerde: Serdes.string() })
    .count({ name: DSL_COUNT_STORE })
    .toStream()
    .mapValues((n) => (n === null ? null : String(n)))
    .to(output, { keySerde: Serdes.string(), valueSerde: Serdes.string() });
  return builder.build();
}

if (process.argv[1]?.endsWith('dsl-rekey-count.ts')) {
  const [input = 'orders', output = 'customer-counts'] = process.argv.slice(2);
  await runFromEnv(dslRekeyCountTopology(input, output), 'dsl-rekey-count');
}
