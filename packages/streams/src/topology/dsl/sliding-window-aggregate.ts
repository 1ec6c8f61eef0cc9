// The processor of count, reduce and aggregate over sliding windows, with point reads only: a per-key index of the
// window starts in the store stands in for Kafka Streams' range scan of the key's windows.
import type { KeyValueStore, Serde, WindowStore } from '@eddy/state';
import { StreamsError } from '../../errors.js';
import type { DropReason, ProcessorSupplier, StreamRecord } from '../processor.js';
import type { Change } from './change.js';
import type { SlidingWindows } from './sliding-windows.js';
import { TableEmitter } from './table-emitter.js';
import { type ValueAndTimestamp, valueAndTimestamp } from './value-and-timestamp.js';
import type { Windowed } from './windowed.js';

/** @internal the window starts of a key, ascending, as 8-byte big-endian doubles. */
export const windowStartsSerde: Serde<number[]> = {
  serialize(starts) {
    const out = Buffer.allocUnsafe(8 * starts.length);
    for (let i = 0; i < starts.length; i++) out.writeDoubleBE(starts[i]!, 8 * i);
    return out;
  },
  deserialize(bytes) {
    const buf = Buffer.isBuffer(bytes)
      ? bytes
      : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const starts: number[] = new Array(buf.length / 8);
    for (let i = 0; i < starts.length; i++) starts[i] = buf.readDoubleBE(8 * i);
    return starts;
  },
};

interface Found<A> {
  start: number;
  agg: ValueAndTimestamp<A>;
}

/**
 * Gives the results of Kafka Streams' sliding-window aggregation (its reverse-scan variant, which it uses with its
 * built-in stores, so updates are emitted in the same order). Instead of scanning the key's windows with starts in
 * `[t - 2 * difference, t + 1]`, it reads the key's index (the starts of its windows) and fetches those starts. The
 * index forgets starts no later record can reach: a record is accepted only when `t + difference` is at least stream
 * time minus grace, so it never looks below stream time - grace - 3 * difference. Starts whose window the store has
 * already expired are dropped from the index when met.
 */
export function slidingWindowAggregateSupplier<K, V, A>(
  storeName: string,
  indexName: string,
  windows: SlidingWindows,
  initializer: () => A,
  aggregator: (key: K, value: V, aggregate: A) => A,
  foldingBound: number,
  keyId: (key: Windowed<K>) => string,
): ProcessorSupplier<K | null, V | null, Windowed<K>, Change<A>> {
  const diff = windows.timeDifferenceMs;
  const grace = windows.graceMs;
  return () => {
    let store: WindowStore<K, ValueAndTimestamp<A>>;
    let index: KeyValueStore<K, number[]>;
    let emitter: TableEmitter<Windowed<K>, A>;
    let recordDropped: (reason: DropReason) => void;
    let observedStreamTime = -1;

    /** Folds the record into the window at `start` holding `agg` (absent: new), unless the window has closed. */
    const update = (
      r: StreamRecord<K, V>,
      start: number,
      agg: ValueAndTimestamp<A>,
      existed: boolean,
      closeTime: number,
    ): void => {
      if (start + diff < closeTime) {
        recordDropped('late');
        return;
      }
      const value = aggregator(r.key, r.value, agg.value);
      const timestamp = Math.max(r.timestamp, agg.timestamp);
      write(r, start, valueAndTimestamp(value, timestamp), existed ? agg.value : null);
    };
    const write = (r: StreamRecord<K, V>, start: number, agg: ValueAndTimestamp<A>, old: A | null): void => {
      store.put(r.key, agg, start);
      emitter.emit(
        { key: r.key, window: { start, end: start + diff } },
        agg.value,
        old,
        agg.timestamp,
        r.headers,
      );
    };
    const fresh = (timestamp: number): ValueAndTimestamp<A> => valueAndTimestamp(initializer(), timestamp);

    /** The key's live windows with starts in [from, to], ascending; `kept` receives every start still needed. */
    const windowsOf = (key: K, starts: number[], from: number, to: number, kept: number[]): Found<A>[] => {
      const found: Found<A>[] = [];
      const forgetBelow = observedStreamTime - grace - 3 * diff;
      for (const start of starts) {
        if (start < forgetBelow) continue;
        if (start < from || start > to) {
          kept.push(start);
          continue;
        }
        const agg = store.fetch(key, start);
        if (agg === undefined) continue;
        kept.push(start);
        found.push({ start, agg });
      }
      return found;
    };

    const processEarly = (r: StreamRecord<K, V>, found: Found<A>[], closeTime: number, created: number[]) => {
      const t = r.timestamp;
      let combined: Found<A> | undefined;
      let rightWinAgg: ValueAndTimestamp<A> | undefined;
      let rightWinAlreadyCreated = false;
      let previousRecordTimestamp: number | undefined;
      const starts = new Set<number>();
      for (const w of found) {
        starts.add(w.start);
        if (w.start === 0) {
          combined = w;
          if (w.agg.timestamp < t) previousRecordTimestamp = w.agg.timestamp;
        } else if (w.start <= t) {
          rightWinAgg = w.agg;
          update(r, w.start, w.agg, true, closeTime);
        } else if (w.start === t + 1) {
          rightWinAlreadyCreated = true;
        } else {
          throw unexpected(w.start, t);
        }
      }
      if (rightWinAgg === undefined && combined !== undefined && combined.agg.timestamp > t) {
        rightWinAgg = combined.agg;
      }
      if (!rightWinAlreadyCreated && rightWinAgg !== undefined && rightWinAgg.timestamp > t) {
        write(r, t + 1, rightWinAgg, null);
        created.push(t + 1);
      }
      if (previousRecordTimestamp !== undefined && !starts.has(previousRecordTimestamp + 1)) {
        update(r, previousRecordTimestamp + 1, fresh(t), false, closeTime);
        created.push(previousRecordTimestamp + 1);
      }
      if (combined === undefined) {
        update(r, 0, fresh(t), false, closeTime);
        created.push(0);
      } else {
        update(r, 0, combined.agg, true, closeTime);
      }
    };

    const processReverse = (
      r: StreamRecord<K, V>,
      found: Found<A>[],
      closeTime: number,
      created: number[],
    ) => {
      const t = r.timestamp;
      let leftWinAgg: ValueAndTimestamp<A> | undefined;
      let rightWinAgg: ValueAndTimestamp<A> | undefined;
      let leftWinAlreadyCreated = false;
      let rightWinAlreadyCreated = false;
      let previousRecordTimestamp: number | undefined;
      const starts = new Set<number>();
      for (let i = found.length - 1; i >= 0; i--) {
        const w = found[i]!;
        starts.add(w.start);
        const end = w.start + diff;
        if (w.start === t + 1) {
          rightWinAlreadyCreated = true;
        } else if (end > t) {
          rightWinAgg ??= w.agg;
          update(r, w.start, w.agg, true, closeTime);
        } else if (end === t) {
          leftWinAlreadyCreated = true;
          update(r, w.start, w.agg, true, closeTime);
          // A record at t came before: its windows exist already.
          if (w.agg.timestamp >= t) return;
          previousRecordTimestamp = w.agg.timestamp;
        } else {
          leftWinAgg = w.agg;
          previousRecordTimestamp = w.agg.timestamp;
          break;
        }
      }
      // The previous record's right window, when it does not exist yet and this record falls into it.
      if (previousRecordTimestamp !== undefined) {
        const start = previousRecordTimestamp + 1;
        if (!starts.has(start) && start + diff >= t) {
          update(r, start, fresh(t), false, closeTime);
          created.push(start);
        }
      }
      if (!leftWinAlreadyCreated) {
        const leftNotEmpty =
          previousRecordTimestamp !== undefined &&
          leftWinAgg !== undefined &&
          t - diff <= previousRecordTimestamp;
        const agg = leftNotEmpty ? valueAndTimestamp(leftWinAgg!.value, t) : fresh(t);
        update(r, t - diff, agg, false, closeTime);
        created.push(t - diff);
      }
      if (!rightWinAlreadyCreated && rightWinAgg !== undefined && rightWinAgg.timestamp > t) {
        write(r, t + 1, rightWinAgg, null);
        created.push(t + 1);
      }
    };

    return {
      init(ctx) {
        store = ctx.getStateStore<WindowStore<K, ValueAndTimestamp<A>>>(storeName);
        index = ctx.getStateStore<KeyValueStore<K, number[]>>(indexName);
        emitter = new TableEmitter(ctx, foldingBound, keyId);
        recordDropped = (reason) => ctx.recordDropped(reason);
      },
      process(record) {
        if (record.key === null || record.key === undefined) return;
        if (record.value === null || record.value === undefined) return;
        const r = record as StreamRecord<K, V>;
        const t = r.timestamp;
        if (t > observedStreamTime) observedStreamTime = t;
        const closeTime = observedStreamTime - grace;
        if (t + diff < closeTime) {
          recordDropped('late');
          return;
        }
        const starts = index.get(r.key) ?? [];
        const kept: number[] = [];
        const created: number[] = [];
        const early = t < diff;
        const found = windowsOf(r.key, starts, early ? 0 : Math.max(0, t - 2 * diff), t + 1, kept);
        if (early) processEarly(r, found, closeTime, created);
        else processReverse(r, found, closeTime, created);
        if (created.length === 0 && kept.length === starts.length) return;
        for (const start of created) if (!kept.includes(start)) kept.push(start);
        kept.sort((a, b) => a - b);
        index.put(r.key, kept);
      },
      flush() {
        emitter.flush();
      },
    };
  };
}

function unexpected(start: number, timestamp: number): StreamsError {
  return new StreamsError(
    'STATE_FAILED',
    `a sliding window starting at ${start} cannot exist next to a record at ${timestamp}: the window store is inconsistent`,
  );
}
