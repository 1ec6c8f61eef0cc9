// KTable.suppress: holds a table's changes back in a buffer and forwards them when their window closes or their
// time limit passes (in stream time), or early when the buffer is full and allowed to.
import { keyValueStore } from '@eddy/state';
import { StreamsError } from '../../errors.js';
import { Serdes } from '../../serdes/serde.js';
import type { Processor, ProcessorContext, StreamRecord } from '../processor.js';
import type { Change } from './change.js';
import type { DslGraph } from './dsl-graph.js';
import { KTable } from './ktable.js';
import type { DslSerde } from './serdes.js';
import { requireSerde } from './serdes.js';
import { type BufferedChange, type BufferStore, SuppressBuffer } from './suppress-buffer.js';
import type { Suppressed } from './suppressed.js';
import { valueAndTimestamp } from './value-and-timestamp.js';
import type { ValueGetterSupplier } from './value-getter.js';
import type { Windowed } from './windowed.js';

const windowedTables = new WeakMap<DslGraph, Map<string, number>>();

/**
 * @internal records that `node` forwards a windowed table whose windows close `closeAfterMs` after their end (time
 * windows: grace; sessions: gap + grace): what `untilWindowCloses` waits for.
 */
export function markWindowedTable(graph: DslGraph, node: string, closeAfterMs: number): void {
  let tables = windowedTables.get(graph);
  if (tables === undefined) {
    tables = new Map();
    windowedTables.set(graph, tables);
  }
  tables.set(node, closeAfterMs);
}

/**
 * How long after a window's end the windows of `node`'s table close: that of the windowed aggregation upstream, or
 * the longest of several (as Kafka Streams finds it); INVALID_TOPOLOGY when a path upstream has none.
 */
function windowCloseDelay(graph: DslGraph, node: string, chain: readonly string[]): number {
  const own = windowedTables.get(graph)?.get(node);
  if (own !== undefined) return own;
  const path = [node, ...chain];
  const parents = graph.topology.parentsOf(node);
  if (parents.length === 0) {
    throw new StreamsError(
      'INVALID_TOPOLOGY',
      `suppress(untilWindowCloses) needs the table of a windowed aggregation; ${path.join(' -> ')} has none`,
    );
  }
  return Math.max(...parents.map((p) => windowCloseDelay(graph, p, path)));
}

/**
 * How joins and derived tables read a suppressed table, as in Kafka Streams: a buffered key reads as what
 * downstream last saw of it (the old value of its first buffered change), any other key as the table upstream.
 */
function suppressedValueGetter<K, V>(
  upstream: ValueGetterSupplier<K, V> | undefined,
  storeName: string,
  keySerde: DslSerde<K>,
  valueSerde: DslSerde<V>,
): ValueGetterSupplier<K, V> | undefined {
  if (upstream === undefined) return undefined;
  return {
    storeNames: [storeName, ...upstream.storeNames],
    create(ctx) {
      const buffer = new SuppressBuffer(ctx.getStateStore<BufferStore>(storeName), 1);
      const read = upstream.create(ctx);
      return (key) => {
        const buffered = buffer.priorValue(Buffer.from(keySerde.serialize(key)));
        if (buffered === undefined) return read(key);
        const { prior, timestamp } = buffered;
        return prior === null ? undefined : valueAndTimestamp(valueSerde.deserialize(prior), timestamp);
      };
    },
  };
}

/** @internal the suppressed table of `table` (see `KTable.suppress`). */
export function suppressTable<K, V>(table: KTable<K, V>, suppressed: Suppressed<K>): KTable<K, V> {
  const { graph } = table;
  let durationMs = suppressed.timeLimitMs;
  let bufferTime: (key: K, timestamp: number) => number = (_key, timestamp) => timestamp;
  if (suppressed.kind === 'window-close') {
    durationMs = windowCloseDelay(graph, table.nodeName, []);
    bufferTime = (key) => (key as Windowed<unknown>).window.end;
  }
  const keySerde = requireSerde<K>('suppress (key)', table.serdes.key);
  const valueSerde = requireSerde<V>('suppress (value)', table.serdes.value);
  const node = graph.names.name(
    'suppress',
    [table.nodeName],
    suppressed.name === undefined ? undefined : { name: suppressed.name },
  );
  const storeName = graph.storeName(node, undefined);
  const { maxRecords, maxBytes, whenFull } = suppressed.bufferConfig;
  // A final result that deletes its window is of no use downstream; a time-limited table's deletions are.
  const dropDeletions = suppressed.kind === 'window-close';
  // Buckets a sixteenth of the wait wide: the buffer spans about the wait, so the bucket index stays small.
  const bucketMs = Math.max(1, Math.ceil(durationMs / 16));
  graph.topology.addProcessor(
    node,
    (): Processor<K, Change<V>, K, Change<V>> => {
      let ctx: ProcessorContext<K, Change<V>>;
      let buffer: SuppressBuffer;
      const encode = (v: V | null) => (v === null ? null : Buffer.from(valueSerde.serialize(v)));
      const decode = (b: Buffer | null) => (b === null ? null : valueSerde.deserialize(b));
      const emit = (c: BufferedChange) => {
        if (dropDeletions && c.newValue === null) return;
        ctx.forward({
          key: keySerde.deserialize(c.key),
          value: { newValue: decode(c.newValue), oldValue: decode(c.oldValue) },
          timestamp: c.timestamp,
          headers: c.headers,
        });
      };
      const overCapacity = () => buffer.count > maxRecords || buffer.bytes > maxBytes;
      const suppress = (r: StreamRecord<K, Change<V>>) => {
        const streamTime = buffer.observe(r.timestamp);
        buffer.put({
          key: Buffer.from(keySerde.serialize(r.key)),
          time: bufferTime(r.key, r.timestamp),
          timestamp: r.timestamp,
          headers: r.headers,
          oldValue: encode(r.value.oldValue),
          newValue: encode(r.value.newValue),
        });
        const expiry = streamTime - durationMs;
        buffer.evictWhile((time) => time <= expiry, emit);
        if (!overCapacity()) return;
        if (whenFull === 'emit-early') {
          buffer.evictWhile(overCapacity, emit);
          return;
        }
        throw new StreamsError(
          'SUPPRESSION_BUFFER_FULL',
          `the suppression buffer of ${node} is full: ${buffer.count}/${maxRecords} records, ` +
            `${buffer.bytes}/${maxBytes} bytes`,
          { position: { topic: ctx.topic, partition: ctx.partition, offset: ctx.offset } },
        );
      };
      return {
        init(context) {
          ctx = context;
          buffer = new SuppressBuffer(ctx.getStateStore<BufferStore>(storeName), bucketMs);
        },
        process(r) {
          try {
            suppress(r);
          } finally {
            buffer.release();
          }
        },
      };
    },
    table.nodeName,
  );
  graph.addStore(
    keyValueStore<Buffer, Buffer>({ name: storeName, keySerde: Serdes.bytes(), valueSerde: Serdes.bytes() }),
    node,
  );
  return new KTable<K, V>(
    graph,
    node,
    { key: keySerde as DslSerde<K>, value: valueSerde },
    suppressedValueGetter(table.valueGetter, storeName, keySerde, valueSerde),
    undefined,
  );
}
