// KTable.groupBy: each change of the table is sent through a repartition topic to the group(s) it leaves and joins.
import type { ProcessorContext, ProcessorSupplier } from '../processor.js';
import type { Change } from './change.js';
import { changeSerde } from './change-serde.js';
import { KGroupedTable } from './kgrouped-table.js';
import type { Grouped } from './kstream.js';
import type { KTable } from './ktable.js';
import { addRepartition } from './repartition.js';
import { keyIdOf, requireSerde } from './serdes.js';

export type GroupSelector<K, V, KR, VR> = (key: K, value: V) => [KR, VR];

/**
 * Adds the node that maps each change to its groups, and the repartition topic (`grouped.name`, or derived from
 * that node) that brings each group's changes to the task that owns the group. The selector's key and value types
 * are new, so `grouped` must give their serdes.
 */
export function groupTable<K, V, KR, VR>(
  table: KTable<K, V>,
  selector: GroupSelector<K, V, KR, VR>,
  grouped: Grouped<NonNullable<KR>, NonNullable<VR>>,
): KGroupedTable<NonNullable<KR>, NonNullable<VR>> {
  const { graph } = table;
  const select = graph.names.name(
    'groupby-select',
    [table.nodeName],
    grouped.name === undefined ? undefined : { name: `${grouped.name}-select` },
  );
  const base = grouped.name ?? graph.names.name('repartition', [select], undefined);
  const keySerde = requireSerde<NonNullable<KR>>(
    `groupBy on a table (the key of "${base}")`,
    grouped.keySerde,
  );
  const valueSerde = requireSerde<NonNullable<VR>>(
    `groupBy on a table (the value of "${base}")`,
    grouped.valueSerde,
  );
  graph.topology.addProcessor(
    select,
    regroupSupplier<K, V, NonNullable<KR>, NonNullable<VR>>(
      selector as GroupSelector<K, V, NonNullable<KR>, NonNullable<VR>>,
      keyIdOf(keySerde),
    ),
    table.nodeName,
  );
  const source = addRepartition(graph, select, { base, keySerde, valueSerde: changeSerde(valueSerde) });
  return new KGroupedTable<NonNullable<KR>, NonNullable<VR>>(graph, source, {
    key: keySerde,
    value: valueSerde,
  });
}

/**
 * The old value leaves its group (a change with only an old value) before the new value joins its group (only a
 * new value); when both select the same group, one change carries both, as in Kafka Streams since 3.x. A selected
 * null key or value takes no part.
 */
function regroupSupplier<K, V, KR, VR>(
  selector: GroupSelector<K, V, KR, VR>,
  keyId: (key: KR) => string,
): ProcessorSupplier<K, Change<V>, KR, Change<VR>> {
  const select = (key: K, value: V | null): [KR, VR] | undefined => {
    if (value === null || value === undefined) return undefined;
    const pair = selector(key, value);
    const [k, v] = pair;
    return k === null || k === undefined || v === null || v === undefined ? undefined : pair;
  };
  return () => {
    let ctx: ProcessorContext<KR, Change<VR>>;
    return {
      init(c) {
        ctx = c;
      },
      process(r) {
        const next = select(r.key, r.value.newValue);
        const prev = select(r.key, r.value.oldValue);
        const { timestamp, headers } = r;
        if (next !== undefined && prev !== undefined && keyId(next[0]) === keyId(prev[0])) {
          ctx.forward({ key: next[0], value: { newValue: next[1], oldValue: prev[1] }, timestamp, headers });
          return;
        }
        if (prev !== undefined) {
          ctx.forward({ key: prev[0], value: { newValue: null, oldValue: prev[1] }, timestamp, headers });
        }
        if (next !== undefined) {
          ctx.forward({ key: next[0], value: { newValue: next[1], oldValue: null }, timestamp, headers });
        }
      },
    };
  };
}
