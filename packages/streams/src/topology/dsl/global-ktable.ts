// GlobalKTable: a table of a topic that every instance holds whole (all partitions), for lookups by any key.
import type { DslGraph } from './dsl-graph.js';
import type { KnownSerdes } from './serdes.js';
import type { ValueGetterSupplier } from './value-getter.js';

/**
 * The latest value per key of a topic, held in full by every instance of the app: read to the end before the app
 * processes anything, then kept up to date as the topic changes. A stream joins it by a key it selects from each
 * record (`KStream.join` with a global table), with no repartitioning. It emits nothing itself.
 */
export class GlobalKTable<K, V> {
  /** @internal */
  constructor(
    /** @internal */
    readonly graph: DslGraph,
    /** The global store that holds the table (queryable by this name). */
    readonly storeName: string,
    /** @internal */
    readonly serdes: KnownSerdes,
    /** @internal how joins read the current value of a key. */
    readonly valueGetter: ValueGetterSupplier<K, V>,
  ) {}
}
