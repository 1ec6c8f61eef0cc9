// KTable's join, leftJoin and outerJoin: picks the kind of join from the arguments.
import { StreamsError } from '../../../errors.js';
import { KTable } from '../ktable.js';
import type { Materialized } from '../materialized.js';
import type { Named } from '../naming.js';
import type { ValueJoiner } from './join-options.js';
import { addTableTableJoin, type TableJoinKind } from './table-table-join.js';

/** `table.<kind>(other, joiner, named?, materialized?)`: a join of two tables on their primary key. */
export function tableJoin<K, V>(
  table: KTable<K, V>,
  kind: TableJoinKind,
  args: unknown[],
): KTable<K, unknown> {
  const [other, joiner, named, materialized] = args;
  if (!(other instanceof KTable)) {
    throw new StreamsError('INVALID_TOPOLOGY', `a table ${kind} needs a KTable as its first argument`);
  }
  if (typeof joiner !== 'function') {
    throw new StreamsError(
      'INVALID_TOPOLOGY',
      `a table ${kind} needs a joiner function as its second argument`,
    );
  }
  return addTableTableJoin(
    table.graph,
    kind,
    table,
    other as KTable<K, unknown>,
    joiner as ValueJoiner<K, V | null, unknown, unknown>,
    named as Named | undefined,
    materialized as Materialized<K, unknown> | undefined,
  );
}
