// Joins a stream with a global table: each record looks up the key it selects, on the stream's own partition (no
// repartitioning), and keeps its key and timestamp.
import type { DropReason, ProcessorSupplier, StreamRecord } from '../processor.js';
import type { GlobalKTable } from './global-ktable.js';
import type { KStream } from './kstream.js';
import type { Named } from './naming.js';
import type { ValueAndTimestamp } from './value-and-timestamp.js';

/** @internal */
export interface GlobalJoinOptions {
  /** A left join keeps records whose lookup finds nothing (or whose selected key is null), joined with null. */
  left: boolean;
  named: Named | undefined;
}

/**
 * The node of `stream` joined with `table`: records with a null value are dropped (counted as `null-value`); an inner
 * join also drops records whose selected key is null or absent from the table.
 */
export function joinGlobal<K, V, GK, GV, VR>(
  stream: KStream<K, V>,
  table: GlobalKTable<GK, GV>,
  keySelector: (key: K, value: NonNullable<V>) => GK | null | undefined,
  joiner: (value: NonNullable<V>, globalValue: GV | null) => VR,
  options: GlobalJoinOptions,
): string {
  const supplier: ProcessorSupplier<K, V, K, VR> = () => {
    let lookup: (key: GK) => ValueAndTimestamp<GV> | undefined;
    let forward: (r: StreamRecord<K, VR>) => void;
    let dropped: (reason: DropReason) => void;
    return {
      init(ctx) {
        lookup = table.valueGetter.create(ctx);
        forward = (r) => ctx.forward(r);
        dropped = (reason) => ctx.recordDropped(reason);
      },
      process(r) {
        if (r.value === null || r.value === undefined) {
          dropped('null-value');
          return;
        }
        const value = r.value as NonNullable<V>;
        const key = keySelector(r.key, value);
        const found = key === null || key === undefined ? undefined : lookup(key);
        if (found === undefined && !options.left) return;
        forward({ ...r, value: joiner(value, found?.value ?? null) });
      },
    };
  };
  return stream.graph.processor(
    options.left ? 'leftjoin-global' : 'join-global',
    [stream.nodeName],
    options.named,
    supplier,
  );
}
