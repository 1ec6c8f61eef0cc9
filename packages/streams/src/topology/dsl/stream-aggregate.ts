// The processor of every keyed aggregation (grouped streams and grouped tables): folds each input into its key's
// aggregate in a key-value store and forwards the aggregate's change.
import type { KeyValueStore } from '@eddy/state';
import type { ProcessorSupplier } from '../processor.js';
import type { Change } from './change.js';
import { TableEmitter } from './table-emitter.js';
import { type ValueAndTimestamp, valueAndTimestamp } from './value-and-timestamp.js';

/**
 * Inputs with a null key or value are skipped, as in Kafka Streams. `next` gives the new aggregate from the input
 * and the current one (undefined: the key has none); undefined from `next` changes and forwards nothing. The store
 * (a `timestampedKeyValueStore`) keeps each aggregate with its timestamp: the highest timestamp of the records that
 * made it, which is the timestamp its updates are forwarded with (as Kafka Streams does).
 */
export function keyedAggregateSupplier<K, In, A>(
  storeName: string,
  next: (key: K, input: In, old: A | undefined) => A | undefined,
  foldingBound: number,
  keyId: (key: K) => string,
): ProcessorSupplier<K | null, In | null, K, Change<A>> {
  return () => {
    let store: KeyValueStore<K, ValueAndTimestamp<A>>;
    let emitter: TableEmitter<K, A>;
    return {
      init(ctx) {
        store = ctx.getStateStore<KeyValueStore<K, ValueAndTimestamp<A>>>(storeName);
        emitter = new TableEmitter(ctx, foldingBound, keyId);
      },
      process(r) {
        const { key, value } = r;
        if (key === null || key === undefined || value === null || value === undefined) return;
        const stored = store.get(key);
        const old = stored === undefined ? undefined : stored.value;
        const aggregate = next(key, value, old);
        if (aggregate === undefined) return;
        const timestamp =
          stored === undefined || r.timestamp > stored.timestamp ? r.timestamp : stored.timestamp;
        store.put(key, valueAndTimestamp(aggregate, timestamp));
        emitter.emit(key, aggregate, old ?? null, timestamp, r.headers);
      },
      flush() {
        emitter.flush();
      },
    };
  };
}
