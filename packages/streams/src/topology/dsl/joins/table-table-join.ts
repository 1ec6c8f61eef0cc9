// Table–table join on the primary key: a change on either side looks up the other side's current value and emits
// the change of the joined value (new and old), computed as Kafka Streams' KTable-KTable inner/left/outer joins do.
import type { DropReason, Processor, ProcessorSupplier, StreamRecord } from '../../processor.js';
import type { Change } from '../change.js';
import type { DslGraph } from '../dsl-graph.js';
import { KTable } from '../ktable.js';
import type { Materialized } from '../materialized.js';
import { materializedTable, type TableStoreContext } from '../materialized-table.js';
import type { Named } from '../naming.js';
import { requireSerde } from '../serdes.js';
import { tableSourceSupplier } from '../table-source.js';
import { type ValueAndTimestamp, valueAndTimestamp } from '../value-and-timestamp.js';
import { joinedTimestamp, type ValueGetterSupplier } from '../value-getter.js';
import type { ValueJoiner } from './join-options.js';
import { passThrough } from './pass-through.js';
import { connectGetter, requireGetter } from './table-access.js';

export type TableJoinKind = 'join' | 'leftjoin' | 'outerjoin';

/** Which sides of a result may be missing (null) in each kind of join. */
const OPTIONAL: Record<TableJoinKind, { left: boolean; right: boolean }> = {
  join: { left: false, right: false },
  leftjoin: { left: false, right: true },
  outerjoin: { left: true, right: true },
};

/**
 * The processor of one side: a change of this side's value under a key, with the other side's current value,
 * gives the change of the joined value. A missing value on a side that may not be missing emits nothing; a side
 * that may be missing joins as null. `joiner` takes this side's value first. The change has the later of the
 * record's timestamp and that of the other side's value, as in Kafka Streams.
 */
function sideSupplier<K, VThis, VOther, VR>(
  other: ValueGetterSupplier<K, VOther>,
  joiner: (thisValue: VThis | null, otherValue: VOther | null, key: K) => VR,
  thisOptional: boolean,
  otherOptional: boolean,
): ProcessorSupplier<K, Change<VThis>, K, Change<VR>> {
  return (): Processor<K, Change<VThis>, K, Change<VR>> => {
    let lookup: (key: K) => ValueAndTimestamp<VOther> | undefined;
    let forward: (r: StreamRecord<K, Change<VR>>) => void;
    let dropped: (reason: DropReason) => void;
    return {
      init(ctx) {
        lookup = other.create(ctx as never);
        forward = (r) => ctx.forward(r);
        dropped = (reason) => ctx.recordDropped(reason);
      },
      process(r) {
        const key = r.key;
        if (key === null || key === undefined) return dropped('null-key-or-value');
        const other = lookup(key);
        const otherValue = other?.value ?? null;
        const change = r.value;
        if (otherValue === null) {
          if (!otherOptional) return;
          if (change.newValue === null && change.oldValue === null) return;
        }
        const joined = (v: VThis | null): VR | null =>
          v !== null || (thisOptional && otherValue !== null) ? joiner(v, otherValue, key) : null;
        forward({
          key,
          value: { newValue: joined(change.newValue), oldValue: joined(change.oldValue) },
          timestamp: joinedTimestamp(r.timestamp, other),
          headers: r.headers,
        });
      },
    };
  };
}

/** The joined value of a key, read through both tables' getters, with the later of their timestamps. */
function joinedGetter<K, VL, VR, VOut>(
  left: ValueGetterSupplier<K, VL>,
  right: ValueGetterSupplier<K, VR>,
  joiner: ValueJoiner<K, VL | null, VR | null, VOut>,
  kind: TableJoinKind,
): ValueGetterSupplier<K, VOut> {
  const optional = OPTIONAL[kind];
  return {
    storeNames: [...new Set([...left.storeNames, ...right.storeNames])],
    create(ctx) {
      const getLeft = left.create(ctx);
      const getRight = right.create(ctx);
      return (key) => {
        const l = getLeft(key);
        const r = getRight(key);
        if (l === undefined && r === undefined) return undefined;
        if ((l === undefined && !optional.left) || (r === undefined && !optional.right)) return undefined;
        const joined = joiner(l?.value ?? null, r?.value ?? null, key);
        return valueAndTimestamp(joined, joinedTimestamp(l?.timestamp ?? r!.timestamp, r));
      };
    },
  };
}

/** Writes the joined changes to the result's store and forwards them (folded per key when caching is on). */
function materializeSupplier<K, V>({
  storeName,
  foldingBound,
  keyId,
}: TableStoreContext<K>): ProcessorSupplier<K, Change<V>, K, Change<V>> {
  const upserts = tableSourceSupplier<K, V>(storeName, foldingBound, keyId);
  return () => {
    const table = upserts();
    return {
      init: (ctx) => table.init?.(ctx),
      process: (r) => table.process({ ...r, value: r.value.newValue }),
      flush: () => table.flush?.(),
    };
  };
}

/**
 * Adds a table–table join: `<node>-this` (fed by the left table, reading the right one), `<node>-other` (the
 * reverse) and `<node>`, which merges their changes and, when `materialized` is given, keeps the result in a store.
 */
export function addTableTableJoin<K, VL, VR, VOut>(
  graph: DslGraph,
  kind: TableJoinKind,
  left: KTable<K, VL>,
  right: KTable<K, VR>,
  joiner: ValueJoiner<K, VL | null, VR | null, VOut>,
  named: Named | undefined,
  materialized: Materialized<K, VOut> | undefined,
): KTable<K, VOut> {
  const node = graph.names.name(kind, [left.nodeName, right.nodeName], named);
  const thisNode = graph.names.claim(`${node}-this`);
  const otherNode = graph.names.claim(`${node}-other`);
  const leftGetter = requireGetter(left, `the table ${kind} "${node}"`);
  const rightGetter = requireGetter(right, `the table ${kind} "${node}"`);
  const optional = OPTIONAL[kind];
  graph.topology.addProcessor(
    thisNode,
    sideSupplier<K, VL, VR, VOut>(rightGetter, joiner, optional.left, optional.right),
    left.nodeName,
  );
  graph.topology.addProcessor(
    otherNode,
    sideSupplier<K, VR, VL, VOut>(
      leftGetter,
      (r, l, key) => joiner(l, r, key),
      optional.right,
      optional.left,
    ),
    right.nodeName,
  );
  connectGetter(graph, thisNode, rightGetter as ValueGetterSupplier<unknown, unknown>);
  connectGetter(graph, otherNode, leftGetter as ValueGetterSupplier<unknown, unknown>);
  const keySerde = left.serdes.key ?? right.serdes.key;
  if (materialized === undefined) {
    graph.topology.addProcessor(node, passThrough<K, VOut>(), thisNode, otherNode);
    return new KTable<K, VOut>(
      graph,
      node,
      { key: keySerde, value: undefined },
      joinedGetter(leftGetter, rightGetter, joiner, kind),
      undefined,
    );
  }
  return materializedTable<K, VOut>(graph, {
    parent: [thisNode, otherNode],
    node,
    keySerde: requireSerde<K>(`the table ${kind} "${node}" (key)`, materialized.keySerde, keySerde),
    valueSerde: requireSerde<VOut>(`the table ${kind} "${node}" (value)`, materialized.valueSerde),
    materialized,
    supplier: materializeSupplier,
  });
}
