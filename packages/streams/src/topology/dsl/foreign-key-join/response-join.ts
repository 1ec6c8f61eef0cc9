// The end of a foreign-key join, on the left side: keeps a response only while the left row still has the value
// that asked for it, joins, and materializes the result table.
import type { KeyValueStore } from '@eddy/state';
import type { DropReason, ProcessorSupplier } from '../../processor.js';
import type { Change } from '../change.js';
import { TableEmitter } from '../table-emitter.js';
import { type ValueAndTimestamp, valueAndTimestamp } from '../value-and-timestamp.js';
import type { ValueGetterSupplier } from '../value-getter.js';
import { type Response, sameHash, valueHash } from './messages.js';

export interface ResponseJoinSpec<K, V, VO, VR> {
  leftValues: ValueGetterSupplier<K, V>;
  /** Serializes a left value with the left table's value serde, for its hash. */
  valueBytes: (value: V) => Uint8Array;
  /** Inner join: called with a right value only; left join: with null where there is none. */
  joiner: (value: V, otherValue: VO | null) => VR;
  leftJoin: boolean;
  storeName: string;
  foldingBound: number;
  keyId: (key: K) => string;
}

/**
 * A response whose hash differs from that of the left row's current value answers an older value (the row changed
 * or moved to another foreign key since): it is dropped and counted as `stale-fk-response`.
 */
export function responseJoinSupplier<K, V, VO, VR>(
  spec: ResponseJoinSpec<K, V, VO, VR>,
): ProcessorSupplier<K, Response<VO>, K, Change<VR>> {
  const { valueBytes, joiner, leftJoin } = spec;
  return () => {
    let leftValue: (key: K) => ValueAndTimestamp<V> | undefined;
    let store: KeyValueStore<K, ValueAndTimestamp<VR>>;
    let emitter: TableEmitter<K, VR>;
    let dropped: (reason: DropReason) => void;
    return {
      init(ctx) {
        leftValue = spec.leftValues.create(ctx);
        store = ctx.getStateStore<KeyValueStore<K, ValueAndTimestamp<VR>>>(spec.storeName);
        emitter = new TableEmitter(ctx, spec.foldingBound, spec.keyId);
        dropped = (reason) => ctx.recordDropped(reason);
      },
      process(r) {
        const key = r.key;
        const current = leftValue(key)?.value ?? null;
        const currentHash = current === null ? null : valueHash(valueBytes(current));
        if (!sameHash(r.value.hash, currentHash)) {
          dropped('stale-fk-response');
          return;
        }
        const other = r.value.foreignValue;
        const result =
          current === null || (other === null && !leftJoin) ? null : (joiner(current, other) ?? null);
        const old = store.get(key)?.value ?? null;
        if (result === null) {
          if (old === null) return;
          store.delete(key);
        } else {
          store.put(key, valueAndTimestamp(result, r.timestamp));
        }
        emitter.emit(key, result, old, r.timestamp, r.headers);
      },
      flush() {
        emitter.flush();
      },
    };
  };
}
