// runtime.avro-serde.*: serialize + deserialize of a representative record (10 fields, one nested) through the Avro
// serde with its schema id cached, against Serdes.json() on the same record. The serde is prepared once against the
// local schema registry (started if none answers); the measured path makes no registry call.
import { AvroSerdes, RegistryClient } from '@eddy/avro';
import { Serdes } from '@eddy/streams';
import { bench, do_not_optimize } from 'mitata';
import { order, orderSchema } from '../../packages/avro/test/fixtures/schemas.js';
import { startRegistry, stopRegistry } from '../../test/registry/registry.mjs';
import type { avgNs, Figure } from '../support/results.js';

const { url, started } = await startRegistry();
const registry = new RegistryClient({ url });
const avro = AvroSerdes.specific<typeof order>({ registry, schema: orderSchema });
await avro.prepare({
  applicationId: 'bench',
  kind: 'output',
  topic: `bench-avro-serde-${process.pid}`,
  part: 'value',
  writes: true,
  dryRun: false,
  report: () => undefined,
});
const json = Serdes.json<typeof order>();

bench('runtime.avro-serde.avro', () => {
  do_not_optimize(avro.deserialize(avro.serialize(order)));
});
bench('runtime.avro-serde.json', () => {
  do_not_optimize(json.deserialize(json.serialize(order)));
});

/**
 * The median time of an iteration: on a loaded machine the mean is dominated by the iterations that lost the CPU,
 * which say nothing about either serde.
 */
function p50Ns(benchmarks: Parameters<typeof avgNs>[0], alias: string): number {
  const stats = benchmarks.find((b) => b.alias === alias)?.runs[0]?.stats as { p50?: number } | undefined;
  if (stats?.p50 === undefined) throw new Error(`benchmark ${alias} did not run`);
  return stats.p50;
}

/** The figures, from the run's results; stops the registry when this module started it. */
export async function avroSerdeFigures(benchmarks: Parameters<typeof avgNs>[0]): Promise<Figure[]> {
  registry.close();
  if (started) await stopRegistry();
  const a = p50Ns(benchmarks, 'runtime.avro-serde.avro');
  const j = p50Ns(benchmarks, 'runtime.avro-serde.json');
  return [
    { name: 'runtime.avro-serde.ns-per-record', value: Number(a.toFixed(1)), unit: 'ns' },
    { name: 'runtime.avro-serde.json.ns-per-record', value: Number(j.toFixed(1)), unit: 'ns' },
    { name: 'runtime.avro-serde.ratio-vs-json', value: Number((a / j).toFixed(3)), unit: 'x' },
    { name: 'runtime.avro-serde.bytes', value: avro.serialize(order).length, unit: 'B' },
    { name: 'runtime.avro-serde.json.bytes', value: json.serialize(order)!.length, unit: 'B' },
  ];
}
