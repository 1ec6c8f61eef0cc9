// A table read from a topic whose store is restored from that topic instead of a changelog topic of its own.
import { StreamsError } from '../../errors.js';
import type { KStream } from './kstream.js';
import type { KTable } from './ktable.js';
import type { Materialized } from './materialized.js';
import { materializedTable } from './materialized-table.js';
import type { Named } from './naming.js';
import { requireSerde } from './serdes.js';
import { tableSourceSupplier } from './table-source.js';

/**
 * The table of `source` (the stream of `topic`, read with the serdes it carries), named as `toTable` names it. Its
 * store writes no changelog: the topic already holds every update, so restore reads the topic up to the task's
 * committed input position. The store keeps the topic's bytes as they are, so it must use the source's serdes.
 */
export function sourceTopicTable<K, V>(
  source: KStream<K, V>,
  topic: string,
  materialized: Materialized<NonNullable<K>, NonNullable<V>>,
  named: Named | undefined,
): KTable<NonNullable<K>, NonNullable<V>> {
  const { graph } = source;
  for (const [what, given, consumed] of [
    ['key', materialized.keySerde, source.serdes.key],
    ['value', materialized.valueSerde, source.serdes.value],
  ] as const) {
    if (given !== undefined && given !== consumed) {
      throw new StreamsError(
        'INVALID_TOPOLOGY',
        `the table of "${topic}" is restored from that topic, so its store must use the ${what} serde it is consumed with (leave Materialized.${what}Serde out)`,
      );
    }
  }
  if (materialized.logging === true) {
    throw new StreamsError(
      'INVALID_TOPOLOGY',
      `the table of "${topic}" is restored from that topic and writes no changelog: leave Materialized.logging out`,
    );
  }
  return materializedTable(graph, {
    parent: source.nodeName,
    node: graph.names.name('totable', [source.nodeName], named),
    keySerde: requireSerde<NonNullable<K>>(`table "${topic}" (key)`, source.serdes.key),
    valueSerde: requireSerde<NonNullable<V>>(`table "${topic}" (value)`, source.serdes.value),
    materialized,
    supplier: ({ storeName, foldingBound, keyId }) =>
      tableSourceSupplier<NonNullable<K>, NonNullable<V>>(storeName, foldingBound, keyId),
    sourceTopic: topic,
  });
}
