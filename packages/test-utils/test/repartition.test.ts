// The test driver runs every subtopology: records written to a repartition topic reach the subtopology that reads it.
import { type KeyValueStore, keyValueStore } from '@eddy/state';
import { type Processor, type ProcessorContext, Serdes, Topology } from '@eddy/streams';
import { describe, expect, it } from 'vitest';
import { TopologyTestDriver } from '../src/index.js';

const s = Serdes.string();

describe('TopologyTestDriver with a repartition topic', () => {
  it('rekeys orders by customer, counts them after the hop, and keeps the internal topic out of the outputs', async () => {
    const topology = new Topology()
      .addSource('orders', { topics: ['orders'], keySerde: s, valueSerde: s })
      .addProcessor(
        'by-customer',
        (): Processor<string, string> => {
          let ctx: ProcessorContext<string, string>;
          return {
            init: (c) => {
              ctx = c;
            },
            process: (r) => ctx.forward({ ...r, key: r.value, value: r.key }),
          };
        },
        'orders',
      )
      .addRepartitionTopic('customers')
      .addSink('to-customers', { repartitionTopic: 'customers', keySerde: s, valueSerde: s }, 'by-customer')
      .addSource('customers', { repartitionTopic: 'customers', keySerde: s, valueSerde: s })
      .addProcessor(
        'count',
        (): Processor<string, string, string, number> => {
          let ctx: ProcessorContext<string, number>;
          let store: KeyValueStore<string, number>;
          return {
            init: (c) => {
              ctx = c;
              store = c.getStateStore('counts');
            },
            process: (r) => {
              const n = (store.get(r.key) ?? 0) + 1;
              store.put(r.key, n);
              ctx.forward({ ...r, value: n });
            },
          };
        },
        'customers',
      )
      .addStateStore(keyValueStore({ name: 'counts', keySerde: s, valueSerde: Serdes.float64() }), 'count')
      .addSink('out', { topic: 'counts', keySerde: s, valueSerde: Serdes.float64() }, 'count');
    await using driver = await TopologyTestDriver.create(topology);
    const orders = driver.createInputTopic('orders', s, s);
    orders.pipeKeyValueList([
      ['o1', 'ann'],
      ['o2', 'bob'],
      ['o3', 'ann'],
    ]);
    expect(driver.createOutputTopic('counts', s, Serdes.float64()).readKeyValuesToList()).toEqual([
      ['ann', 1],
      ['bob', 1],
      ['ann', 2],
    ]);
    expect(driver.producedTopicNames()).toEqual(['counts']);
    expect(driver.getStateStore<KeyValueStore<string, number>>('counts').get('ann')).toBe(2);
  });
});
