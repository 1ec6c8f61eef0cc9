// How a join processor reads a table: through the table's value getter, connected to the stores behind it.
import { StreamsError } from '../../../errors.js';
import type { DslGraph } from '../dsl-graph.js';
import type { KTable } from '../ktable.js';
import type { ValueGetterSupplier } from '../value-getter.js';

/** The getter of `table`; INVALID_TOPOLOGY when the table cannot be read (it must be materialized first). */
export function requireGetter<K, V>(table: KTable<K, V>, operation: string): ValueGetterSupplier<K, V> {
  const getter = table.valueGetter;
  if (getter === undefined) {
    throw new StreamsError(
      'INVALID_TOPOLOGY',
      `${operation} needs to read table "${table.nodeName}", which is not readable: materialize it`,
    );
  }
  return getter;
}

/**
 * Connects `processor` to the stores behind `getter`, which also places it in the subtopology of the table: both
 * inputs of a join are processed by the same tasks.
 */
export function connectGetter(
  graph: DslGraph,
  processor: string,
  getter: ValueGetterSupplier<unknown, unknown>,
): void {
  if (getter.storeNames.length > 0) {
    graph.topology.connectProcessorAndStateStores([processor], ...getter.storeNames);
  }
}
