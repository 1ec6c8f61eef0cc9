// The processor that turns a stream of upserts and tombstones into a materialized table (`toTable`, `builder.table`).
import type { KeyValueStore } from '@eddy/state';
import type { ProcessorSupplier } from '../processor.js';
import type { Change } from './change.js';
import { TableEmitter } from './table-emitter.js';
import { type ValueAndTimestamp, valueAndTimestamp } from './value-and-timestamp.js';

/**
 * Records with a null key are dropped; a null value deletes the key. The deletion of a key the table does not hold
 * is forwarded too (a change from null to null), as Kafka Streams' table source does; caching folds it away. The
 * store keeps each value with the timestamp of its record.
 */
export function tableSourceSupplier<K, V>(
  storeName: string,
  foldingBound: number,
  keyId: (key: K) => string,
): ProcessorSupplier<K | null, V | null, K, Change<V>> {
  return () => {
    let store: KeyValueStore<K, ValueAndTimestamp<V>>;
    let emitter: TableEmitter<K, V>;
    return {
      init(ctx) {
        store = ctx.getStateStore<KeyValueStore<K, ValueAndTimestamp<V>>>(storeName);
        emitter = new TableEmitter(ctx, foldingBound, keyId);
      },
      process(r) {
        const key = r.key;
        if (key === null || key === undefined) return;
        const value = r.value === undefined ? null : r.value;
        const old = store.get(key)?.value ?? null;
        if (value === null) {
          if (old !== null) store.delete(key);
        } else {
          store.put(key, valueAndTimestamp(value, r.timestamp));
        }
        emitter.emit(key, value, old, r.timestamp, r.headers);
      },
      flush() {
        emitter.flush();
      },
    };
  };
}
