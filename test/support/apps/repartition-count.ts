// A Processor-API app that rekeys orders by customer, sends them through a repartition topic and counts them per
// customer in a LevelDB store: `repartition-count.ts <input> <output>`, configured as `run-from-env.ts` says.
import { type KeyValueStore, keyValueStore } from '@eddy/state';
import { type Processor, type ProcessorContext, Serdes, Topology } from '@eddy/streams';
import { runFromEnv } from './run-from-env.js';

/** Partitions of the repartition topic: deliberately not the input's count. */
export const REPARTITION_PARTITIONS = 4;

export function repartitionCountTopology(input: string, output: string): Topology {
  return new Topology()
    .addSource('orders', { topics: [input], keySerde: Serdes.string(), valueSerde: Serdes.string() })
    .addProcessor(
      'by-customer',
      (): Processor<string, string, string, string> => {
        let ctx: ProcessorContext<string, string>;
        return {
          init: (c) => {
            ctx = c;
          },
          // The value is the customer: it becomes the key.
          process: (r) => ctx.forward({ ...r, key: r.value, value: r.key }),
        };
      },
      'orders',
    )
    .addRepartitionTopic('customers', { partitions: REPARTITION_PARTITIONS })
    .addSink(
      'to-customers',
      { repartitionTopic: 'customers', keySerde: Serdes.string(), valueSerde: Serdes.string() },
      'by-customer',
    )
    .addSource('customers-in', {
      repartitionTopic: 'customers',
      keySerde: Serdes.string(),
      valueSerde: Serdes.string(),
    })
    .addProcessor(
      'count',
      (): Processor<string, string, string, string> => {
        let ctx: ProcessorContext<string, string>;
        let store: KeyValueStore<string, number>;
        return {
          init: (c) => {
            ctx = c;
            store = c.getStateStore('customer-counts');
          },
          process: (r) => {
            const n = (store.get(r.key) ?? 0) + 1;
            store.put(r.key, n);
            ctx.forward({ ...r, value: String(n) });
          },
        };
      },
      'customers-in',
    )
    .addStateStore(
      keyValueStore({ name: 'customer-counts', keySerde: Serdes.string(), valueSerde: Serdes.float64() }),
      'count',
    )
    .addSink('out', { topic: output, keySerde: Serdes.string(), valueSerde: Serdes.string() }, 'count');
}

if (process.argv[1]?.endsWith('repartition-count.ts')) {
  const [input = 'orders', output = 'customer-counts'] = process.argv.slice(2);
  await runFromEnv(repartitionCountTopology(input, output), 'repartition-count');
}
