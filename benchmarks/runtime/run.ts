// Hot-path benchmarks of the runtime without network: fetched batches fed straight into a task, against a
// hand-written loop doing the same work with the same serdes. Writes benchmarks/results/runtime.json.
import { Serdes, StreamsBuilder } from '@eddy/streams';
import { type ConsumedRecord, DRAIN_ONLY, RecordCollector, StreamTask } from '@eddy/streams/internals';
import { bench, do_not_optimize, run } from 'mitata';
import { avgNs, writeResults } from '../support/results.js';

const BATCH = 1_000;
type Order = { id: number; customer: string; amount: number; note: string };

const batch: ConsumedRecord[] = Array.from({ length: BATCH }, (_, i) => ({
  offset: String(i),
  key: Buffer.from(`order-${i}`),
  value: Buffer.from(
    JSON.stringify({ id: i, customer: `c${i % 97}`, amount: (i * 37) % 1000, note: 'n'.repeat(20) }),
  ),
  timestamp: 1_700_000_000_000 + i,
  headers: {},
}));

const keySerde = Serdes.string();
const valueSerde = Serdes.json<Order>();
const outSerde = Serdes.json<{ id: number; cents: number }>();

function statelessTask(): { task: StreamTask; collector: RecordCollector } {
  const b = new StreamsBuilder();
  b.stream('orders', { keySerde, valueSerde })
    .mapValues((o) => ({ id: o!.id, cents: o!.amount * 100 }))
    .filter((_, v) => v.cents >= 50_000)
    .to('large', { keySerde, valueSerde: outSerde });
  const collector = new RecordCollector(DRAIN_ONLY);
  const task = new StreamTask({
    applicationId: 'bench',
    partition: 0,
    graph: b.build().seal(),
    collector,
    deserializationErrors: 'fail',
    processingErrors: 'fail',
    logger: { debug() {}, info() {}, warn() {}, error() {} },
  });
  return { task, collector };
}

const stateless = statelessTask();

bench('runtime.stateless.topology', () => {
  stateless.task.addRecords('orders', batch);
  stateless.task.process();
  do_not_optimize(stateless.collector.drain());
});

bench('runtime.stateless.handwritten', () => {
  const out: {
    topic: string;
    key: Buffer | null;
    value: Uint8Array | null;
    timestamp: number;
    headers: object;
  }[] = [];
  for (const r of batch) {
    const key = keySerde.deserialize(r.key);
    const order = valueSerde.deserialize(r.value)!;
    const mapped = { id: order.id, cents: order.amount * 100 };
    if (mapped.cents >= 50_000) {
      out.push({
        topic: 'large',
        key: keySerde.serialize(key),
        value: outSerde.serialize(mapped),
        timestamp: r.timestamp,
        headers: r.headers,
      });
    }
  }
  do_not_optimize(out);
});

const { benchmarks } = await run();
const framework = avgNs(benchmarks, 'runtime.stateless.topology');
const handwritten = avgNs(benchmarks, 'runtime.stateless.handwritten');
await writeResults('runtime', [
  { name: 'runtime.stateless.ns-per-record', value: Number((framework / BATCH).toFixed(1)), unit: 'ns' },
  {
    name: 'runtime.stateless.handwritten.ns-per-record',
    value: Number((handwritten / BATCH).toFixed(1)),
    unit: 'ns',
  },
  {
    name: 'runtime.stateless.ratio-vs-handwritten',
    value: Number((framework / handwritten).toFixed(3)),
    unit: 'x',
  },
]);
