// Stream–stream windowed join, with Kafka Streams' rules: each side keeps its records in a window store by time
// bucket, and each record joins the other side's records of the same key within the join window that the other
// store still holds; left/outer joins hold a record that has not joined in a buffer and emit it null-padded once its
// window has closed, or at once when its window had already ended when it arrived.
import { type KeyValueStore, keyValueStore, type WindowStore, windowStore } from '@eddy/state';
import { Serdes } from '../../../serdes/serde.js';
import type { DropReason, Processor, ProcessorSupplier, StreamRecord } from '../../processor.js';
import type { DslGraph } from '../dsl-graph.js';
import type { KStream } from '../kstream.js';
import { type DslSerde, knownSerde, requireSerde } from '../serdes.js';
import { JoinClock } from './join-clock.js';
import {
  type BufferValue,
  bufferValueSerde,
  insertByTime,
  type NonJoined,
  type TimedValue,
  timedListSerde,
} from './join-codecs.js';
import type { StreamJoined, ValueJoiner } from './join-options.js';
import type { JoinWindows } from './join-windows.js';
import { NonJoinedBuffer } from './non-joined-buffer.js';
import { passThrough } from './pass-through.js';

export type StreamJoinKind = 'join' | 'leftjoin' | 'outerjoin';

/** What the two side processors of one task share: the join's times and the non-joined buffer. */
interface SharedState<K> {
  clock: JoinClock;
  buffer: NonJoinedBuffer<K> | undefined;
}

interface SideSpec<K> {
  left: boolean;
  thisStore: string;
  otherStore: string;
  /** The join's state store: its times and, for left/outer joins, the non-joined records. */
  stateStore: string;
  withBuffer: boolean;
  /** Other-side records with times in [t - lookBefore, t + lookAfter] join a record at t. */
  lookBefore: number;
  lookAfter: number;
  graceMs: number;
  retentionMs: number;
  bucketMs: number;
  bufferBucketMs: number;
  /** A held record's window has closed once stream time passes its time + this (after + grace left, before + grace right). */
  closesAfter: { left: number; right: number };
  /** Whether this side's records that never join are emitted null-padded (left side of a left join, outer join). */
  thisOuter: boolean;
  /** Whether the other side's are (then a match removes the other record from the buffer). */
  otherOuter: boolean;
  serializeKey: (key: K) => Uint8Array;
  /** Both sides share one state per task, found by this key (the task's instance of the state store). */
  shared: WeakMap<object, SharedState<K>>;
}

function sideSupplier<K, VThis, VOther, VR>(
  spec: SideSpec<K>,
  /** The user's joiner, called as (left value, right value, key) whichever side this is. */
  joiner: (left: unknown, right: unknown, key: K) => VR,
): ProcessorSupplier<K, VThis, K, VR> {
  const bucketOf = (t: number): number => t - (t % spec.bucketMs);
  const join = spec.left
    ? (thisValue: unknown, otherValue: unknown, key: K) => joiner(thisValue, otherValue, key)
    : (thisValue: unknown, otherValue: unknown, key: K) => joiner(otherValue, thisValue, key);
  // A record of this side looks for closed records only once stream time has passed the look's start + this.
  const waitMs = spec.lookAfter + spec.graceMs;
  return (): Processor<K, VThis, K, VR> => {
    let own: WindowStore<K, TimedValue<VThis>[]>;
    let other: WindowStore<K, TimedValue<VOther>[]>;
    let shared: SharedState<K>;
    let forward: (r: StreamRecord<K, VR>) => void;
    let dropped: (reason: DropReason) => void;
    const emitNonJoined = (e: NonJoined<K>, headers: StreamRecord<K, VR>['headers']) =>
      forward({
        key: e.key,
        value: e.left ? joiner(e.value, null, e.key) : joiner(null, e.value, e.key),
        timestamp: e.ts,
        headers,
      });
    /** Writes a record to this side's store, unless it is too old for the store (then counted as dropped). */
    const keep = (key: K, value: VThis | null, ts: number) => {
      if (!shared.clock.write(spec.left, ts)) return dropped('expired');
      if (value === null) return;
      const start = bucketOf(ts);
      const list = [...(own.fetch(key, start) ?? [])];
      insertByTime(list, { ts, value });
      own.put(key, list, start);
    };
    return {
      init(ctx) {
        own = ctx.getStateStore(spec.thisStore);
        other = ctx.getStateStore(spec.otherStore);
        const state = ctx.getStateStore<KeyValueStore<number, BufferValue<K>>>(spec.stateStore);
        let s = spec.shared.get(state);
        if (s === undefined) {
          s = {
            clock: new JoinClock(state as KeyValueStore<number, BufferValue<unknown>>, spec.retentionMs),
            buffer: spec.withBuffer ? new NonJoinedBuffer<K>(state, spec.bufferBucketMs) : undefined,
          };
          spec.shared.set(state, s);
        }
        shared = s;
        forward = (r) => ctx.forward(r);
        dropped = (reason) => ctx.recordDropped(reason);
      },
      process(r) {
        const { key, value, timestamp: ts } = r;
        if (!Number.isSafeInteger(ts) || ts < 0) return dropped('invalid-timestamp');
        const { clock, buffer } = shared;
        clock.reload();
        buffer?.reload();
        try {
          clock.advanceStreamTime(ts);
          if (key === null || key === undefined) {
            if (spec.thisOuter && value !== null && value !== undefined) {
              forward({ key, value: join(value, null, key), timestamp: ts, headers: r.headers });
              return;
            }
            return dropped('null-key-or-value');
          }
          if (value === null || value === undefined) {
            dropped('null-key-or-value');
            // Still a write to this side's store (one that stores nothing): it raises the store's highest time.
            return keep(key, null, ts);
          }
          if (buffer !== undefined && ts === clock.streamTime) lookForClosed(buffer, clock, r.headers);
          const timeTo = Math.max(0, ts + spec.lookAfter);
          const from = Math.max(0, ts - spec.lookBefore, clock.lowestLive(!spec.left));
          let keyBytes: Uint8Array | undefined;
          const bytesOf = (k: K) => (keyBytes ??= spec.serializeKey(k));
          let matched = false;
          for (let start = bucketOf(from); start <= timeTo; start += spec.bucketMs) {
            const list = other.fetch(key, start);
            if (list === undefined) continue;
            for (const o of list) {
              if (o.ts < from || o.ts > timeTo) continue;
              matched = true;
              if (spec.otherOuter) buffer?.removeJoined(!spec.left, bytesOf(key), o.ts);
              forward({
                key,
                value: join(value, o.value, key),
                timestamp: Math.max(ts, o.ts),
                headers: r.headers,
              });
            }
          }
          if (!matched && spec.thisOuter && buffer !== undefined) {
            // A record whose window has already ended cannot join anything later: it is emitted at once.
            if (timeTo < clock.streamTime) {
              forward({ key, value: join(value, null, key), timestamp: ts, headers: r.headers });
            } else {
              clock.minTime = Math.min(clock.minTime, ts);
              buffer.add({ left: spec.left, key, keyBytes: bytesOf(key), ts, value });
            }
          }
          keep(key, value, ts);
        } finally {
          clock.save();
        }
      },
    };

    function lookForClosed(
      buffer: NonJoinedBuffer<K>,
      clock: JoinClock,
      headers: StreamRecord<K, VR>['headers'],
    ): void {
      const streamTime = clock.streamTime;
      // Kafka Streams keeps "none held" as the largest long, which this sum overflows when it adds something.
      const notYet =
        clock.minTime === Number.POSITIVE_INFINITY ? waitMs <= 0 : clock.minTime + waitMs >= streamTime;
      if (notYet) return;
      clock.minTime = buffer.emitClosed(streamTime, spec.closesAfter, (e) => emitNonJoined(e, headers));
    }
  };
}

/**
 * Adds a windowed join of two streams partitioned by key: `<node>-this` and `<node>-other` process the left and
 * right records, `<node>` merges their results. Stores: `<base>-this-store`, `<base>-other-store` and the join's
 * times with, for left and outer joins, the non-joined records: `<base>-outer-store` (inner joins:
 * `<base>-time-store`). Base: `streamJoined.storeName`, else the node's name.
 */
export function addStreamStreamJoin<K, V1, V2, VR>(
  graph: DslGraph,
  kind: StreamJoinKind,
  left: KStream<K, V1>,
  right: KStream<K, V2>,
  joiner: ValueJoiner<K, V1 | null, V2 | null, VR>,
  windows: JoinWindows,
  options: StreamJoined<K, V1, V2>,
): { node: string; keySerde: DslSerde<K> } {
  const named = options.name;
  // After a key change a side's key serde is often unknown: the other side's fits the same keys.
  const knownKey =
    knownSerde(options.keySerde) ?? knownSerde(left.serdes.key) ?? knownSerde(right.serdes.key);
  const keyOption = knownKey === undefined ? {} : { keySerde: knownKey as DslSerde<K> };
  const l = left.partitionedByKey({
    ...(named === undefined ? {} : { name: `${named}-left` }),
    ...keyOption,
    ...(options.valueSerde === undefined ? {} : { valueSerde: options.valueSerde }),
  });
  const r = right.partitionedByKey({
    ...(named === undefined ? {} : { name: `${named}-right` }),
    ...keyOption,
    ...(options.otherValueSerde === undefined ? {} : { valueSerde: options.otherValueSerde }),
  });
  const node = graph.names.name(kind, [l.nodeName, r.nodeName], options);
  const what = `the stream-stream ${kind} "${node}"`;
  const keySerde = requireSerde<K>(`${what} (key)`, options.keySerde, l.serdes.key, r.serdes.key);
  const leftSerde = requireSerde<V1>(`${what} (left value)`, options.valueSerde, l.serdes.value);
  const rightSerde = requireSerde<V2>(`${what} (right value)`, options.otherValueSerde, r.serdes.value);
  const thisNode = graph.names.claim(`${node}-this`);
  const otherNode = graph.names.claim(`${node}-other`);
  const base = options.storeName ?? node;
  const leftStore = graph.names.claim(`${base}-this-store`);
  const rightStore = graph.names.claim(`${base}-other-store`);
  const leftOuter = kind !== 'join';
  const rightOuter = kind === 'outerjoin';
  const stateStore = graph.names.claim(`${base}-${leftOuter ? 'outer' : 'time'}-store`);

  const { beforeMs, afterMs, graceMs } = windows;
  // A lookup reads at most three buckets of a key. The buffer's buckets hold all keys, so they are narrower (about 64
  // per open window): a bucket is rewritten whenever one of its records is added or joins.
  const bucketMs = Math.max(1, Math.ceil((beforeMs + afterMs + 1) / 2));
  const bufferBucketMs = Math.max(1, Math.ceil((Math.max(beforeMs, afterMs) + graceMs + 1) / 64));
  // As in Kafka Streams, a side's store keeps the records of window size + grace below the highest time written to it.
  const retentionMs = beforeMs + afterMs + graceMs;
  const common = {
    stateStore,
    withBuffer: leftOuter,
    graceMs,
    retentionMs,
    bucketMs,
    bufferBucketMs,
    closesAfter: { left: afterMs + graceMs, right: beforeMs + graceMs },
    serializeKey: (key: K) => keySerde.serialize(key),
    shared: new WeakMap<object, SharedState<K>>(),
  };
  const j = joiner as (left: unknown, right: unknown, key: K) => VR;
  graph.topology.addProcessor(
    thisNode,
    sideSupplier<K, V1, V2, VR>(
      {
        ...common,
        left: true,
        thisStore: leftStore,
        otherStore: rightStore,
        lookBefore: beforeMs,
        lookAfter: afterMs,
        thisOuter: leftOuter,
        otherOuter: rightOuter,
      },
      j,
    ),
    l.nodeName,
  );
  graph.topology.addProcessor(
    otherNode,
    sideSupplier<K, V2, V1, VR>(
      {
        ...common,
        left: false,
        thisStore: rightStore,
        otherStore: leftStore,
        lookBefore: afterMs,
        lookAfter: beforeMs,
        thisOuter: rightOuter,
        otherOuter: leftOuter,
      },
      j,
    ),
    r.nodeName,
  );
  graph.topology.addProcessor(node, passThrough<K, VR>(), thisNode, otherNode);
  const storeOptions = {
    ...(options.persistent === undefined ? {} : { persistent: options.persistent }),
    ...(options.logging === undefined ? {} : { logging: options.logging }),
  };
  graph.addStore(
    windowStore({
      name: leftStore,
      keySerde,
      valueSerde: timedListSerde(leftSerde),
      // Buckets start up to a bucket's width before their records.
      retentionMs: retentionMs + bucketMs,
      ...storeOptions,
    }),
    thisNode,
    otherNode,
  );
  graph.addStore(
    windowStore({
      name: rightStore,
      keySerde,
      valueSerde: timedListSerde(rightSerde),
      retentionMs: retentionMs + bucketMs,
      ...storeOptions,
    }),
    thisNode,
    otherNode,
  );
  graph.addStore(
    keyValueStore<number, BufferValue<K>>({
      name: stateStore,
      keySerde: Serdes.float64(),
      valueSerde: bufferValueSerde<K>(keySerde, leftSerde as never, rightSerde as never),
      ...storeOptions,
    }),
    thisNode,
    otherNode,
  );
  return { node, keySerde };
}
