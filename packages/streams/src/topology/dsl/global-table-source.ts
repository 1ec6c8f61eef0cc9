// The processor that keeps a global table's store equal to its topic: the latest value per key with its record's
// timestamp, null deletes.
import type { KeyValueStore } from '@eddy/state';
import type { ProcessorSupplier } from '../processor.js';
import { type ValueAndTimestamp, valueAndTimestamp } from './value-and-timestamp.js';

/** Records with a null key are skipped; a null value deletes the key. */
export function globalTableSourceSupplier<K, V>(
  storeName: string,
): ProcessorSupplier<K | null, V | null, never, never> {
  return () => {
    let store: KeyValueStore<K, ValueAndTimestamp<V>>;
    return {
      init(ctx) {
        store = ctx.getStateStore<KeyValueStore<K, ValueAndTimestamp<V>>>(storeName);
      },
      process({ key, value, timestamp }) {
        if (key === null || key === undefined) return;
        if (value === null || value === undefined) store.delete(key);
        else store.put(key, valueAndTimestamp(value, timestamp));
      },
    };
  };
}
