// The processor of aggregations over session windows: merges each record with the sessions of its key it
// overlaps, in the session store and the per-key index of live sessions that lets it find them by point lookups.
import type { SessionStore } from '@eddy/state';
import type { RecordHeaders } from '../../kafka/port.js';
import type { ProcessorContext, ProcessorSupplier } from '../processor.js';
import type { Change } from './change.js';
import { SessionIndex, type SessionIndexStore } from './session-index.js';
import type { SessionWindows } from './session-windows.js';
import { TableEmitter } from './table-emitter.js';
import { valueAndTimestamp } from './value-and-timestamp.js';
import type { ValueGetterSupplier } from './value-getter.js';
import type { Windowed } from './windowed.js';

export interface SessionAggregation<K, V, A> {
  windows: SessionWindows;
  retentionMs: number;
  storeName: string;
  indexName: string;
  initializer: () => A;
  aggregator: (key: K, value: V, aggregate: A) => A;
  merger: (key: K, left: A, right: A) => A;
  foldingBound: number;
  keyBytes: (key: K) => Buffer;
  keyId: (key: Windowed<K>) => string;
}

interface Found<A> {
  start: number;
  end: number;
  value: A;
}

/**
 * As Kafka Streams' session aggregation: a record at `t` merges the sessions of its key that end at or after
 * `t - gap` and start at or before `t + gap` into one session with the record; each merged session is deleted
 * (forwarded as a change to null) unless the result is the record's own point session; the new session's aggregate
 * is forwarded with no old value, stamped with the session end. The record is dropped as late when the merged
 * session ends before stream time - gap - grace. Records with a null key or value are skipped.
 */
export function sessionAggregateSupplier<K, V, A>(
  s: SessionAggregation<K, V, A>,
): ProcessorSupplier<K | null, V | null, Windowed<K>, Change<A>> {
  const { gapMs, graceMs } = s.windows;
  return () => {
    let ctx: ProcessorContext<Windowed<K>, Change<A>>;
    let store: SessionStore<K, A>;
    let index: SessionIndex;
    let emitter: TableEmitter<Windowed<K>, A>;
    // Like Kafka Streams, the highest timestamp this processor has seen (not persisted: the next record sets it).
    let observed = Number.NEGATIVE_INFINITY;
    const emit = (key: K, start: number, end: number, change: Change<A>, headers: RecordHeaders) =>
      emitter.emit({ key, window: { start, end } }, change.newValue, change.oldValue, end, headers);
    return {
      init(context) {
        ctx = context;
        store = ctx.getStateStore<SessionStore<K, A>>(s.storeName);
        // Buckets a quarter of the retention wide: a handful of them hold every key with a live session.
        index = new SessionIndex(
          ctx.getStateStore<SessionIndexStore>(s.indexName),
          Math.max(1, Math.ceil(s.retentionMs / 4)),
        );
        emitter = new TableEmitter(ctx, s.foldingBound, s.keyId);
      },
      process(r) {
        const { key, value, timestamp: t } = r;
        if (key === null || key === undefined || value === null || value === undefined) return;
        if (t > observed) {
          observed = t;
          index.expire(observed - s.retentionMs);
        }
        const closeTime = observed - graceMs - gapMs;
        const keyBytes = s.keyBytes(key);
        const bounds = index.get(keyBytes);
        const kept: number[] = [];
        const merged: Found<A>[] = [];
        let agg = s.initializer();
        let start = t;
        let end = t;
        for (let i = 0; i < bounds.length; i += 2) {
          const bStart = bounds[i]!;
          const bEnd = bounds[i + 1]!;
          const overlaps = bEnd >= t - gapMs && bStart <= t + gapMs;
          // A session the store no longer returns has expired: it leaves the index. Only sessions old enough to
          // have expired are asked for when they are not needed.
          if (!overlaps && bEnd > observed - s.retentionMs) {
            kept.push(bStart, bEnd);
            continue;
          }
          const v = store.fetchSession(key, bStart, bEnd);
          if (v === undefined) continue;
          if (!overlaps) {
            kept.push(bStart, bEnd);
            continue;
          }
          merged.push({ start: bStart, end: bEnd, value: v });
          agg = s.merger(key, agg, v);
          if (bStart < start) start = bStart;
          if (bEnd > end) end = bEnd;
        }
        if (end < closeTime) {
          ctx.recordDropped('late');
          return;
        }
        if (start !== t || end !== t) {
          for (const m of merged) {
            store.remove(key, { start: m.start, end: m.end });
            emit(key, m.start, m.end, { newValue: null, oldValue: m.value }, r.headers);
          }
        }
        agg = s.aggregator(key, value, agg);
        store.put(key, { start, end }, agg);
        insertBounds(kept, start, end);
        index.set(keyBytes, kept);
        emit(key, start, end, { newValue: agg, oldValue: null }, r.headers);
      },
      flush() {
        emitter.flush();
      },
    };
  };
}

/** Inserts a session's bounds into `[start, end, ...]` ordered by end then start. */
function insertBounds(bounds: number[], start: number, end: number): void {
  let i = bounds.length;
  while (i > 0 && (bounds[i - 1]! > end || (bounds[i - 1]! === end && bounds[i - 2]! > start))) i -= 2;
  bounds.splice(i, 0, start, end);
}

/**
 * How joins and derived tables read a session's aggregate: a point lookup in the session store; its timestamp is
 * the session's end (the latest record in it), as Kafka Streams gives it.
 */
export function sessionValueGetter<K, A>(storeName: string): ValueGetterSupplier<Windowed<K>, A> {
  return {
    storeNames: [storeName],
    create(ctx) {
      const store = ctx.getStateStore<SessionStore<K, A>>(storeName);
      return (w) => {
        const aggregate = store.fetchSession(w.key, w.window.start, w.window.end);
        return aggregate === undefined ? undefined : valueAndTimestamp(aggregate, w.window.end);
      };
    },
  };
}
