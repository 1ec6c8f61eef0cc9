// The processor of count, reduce and aggregate over time windows: folds each record into every window containing it.
import type { WindowStore } from '@eddy/state';
import type { DropReason, ProcessorSupplier } from '../processor.js';
import type { Change } from './change.js';
import type { TimeWindows } from './time-windows.js';
import { type ValueAndTimestamp, valueAndTimestamp } from './value-and-timestamp.js';
import type { Windowed } from './windowed.js';
import { WindowedTableEmitter } from './windowed-table-emitter.js';

/**
 * As Kafka Streams: a record with a null key is skipped; stream time is the highest timestamp this processor has
 * seen; a window is closed once its end plus the grace period is at or below stream time, and the record is then
 * dropped for that window and counted as `late` (once per closed window). A window's updates carry the highest
 * timestamp of its records.
 */
export function timeWindowAggregateSupplier<K, V, A>(
  storeName: string,
  windows: TimeWindows,
  apply: (key: K, value: V, old: A | undefined) => A,
  foldingBound: number,
  /** Equal for two keys exactly when their serialized bytes are (see `keyIdOf`). */
  keyId: (key: K) => string,
): ProcessorSupplier<K | null, V, Windowed<K>, Change<A>> {
  const { sizeMs, advanceMs, graceMs } = windows;
  return () => {
    let store: WindowStore<K, ValueAndTimestamp<A>>;
    let emitter: WindowedTableEmitter<K, A>;
    let recordDropped: (reason: DropReason) => void;
    let observedStreamTime = -1;
    return {
      init(ctx) {
        store = ctx.getStateStore<WindowStore<K, ValueAndTimestamp<A>>>(storeName);
        emitter = new WindowedTableEmitter(ctx, foldingBound, keyId);
        recordDropped = (reason) => ctx.recordDropped(reason);
      },
      process(r) {
        const key = r.key;
        if (key === null || key === undefined) return;
        const timestamp = r.timestamp;
        if (timestamp > observedStreamTime) observedStreamTime = timestamp;
        const closeTime = observedStreamTime - graceMs;
        for (let start = windows.firstWindowStart(timestamp); start <= timestamp; start += advanceMs) {
          const end = start + sizeMs;
          if (end <= closeTime) {
            recordDropped('late');
            continue;
          }
          const old = store.fetch(key, start);
          const value = apply(key, r.value, old?.value);
          const newTimestamp = old === undefined || timestamp > old.timestamp ? timestamp : old.timestamp;
          store.put(key, valueAndTimestamp(value, newTimestamp), start);
          emitter.emit(key, start, end, value, old?.value ?? null, newTimestamp, r.headers);
        }
      },
      flush() {
        emitter.flush();
      },
    };
  };
}
