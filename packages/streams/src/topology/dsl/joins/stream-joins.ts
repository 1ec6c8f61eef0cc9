// KStream's join, leftJoin and outerJoin: picks the kind of join from the arguments (a stream or a table).
import { StreamsError } from '../../../errors.js';
import { KStream } from '../kstream.js';
import { KTable } from '../ktable.js';
import type { Joined, StreamJoined, ValueJoiner } from './join-options.js';
import { JoinWindows } from './join-windows.js';
import { addStreamStreamJoin, type StreamJoinKind } from './stream-stream-join.js';
import { addStreamTableJoin } from './stream-table-join.js';

type AnyJoiner = ValueJoiner<unknown, unknown, unknown, unknown>;

/** `stream.<kind>(other, joiner, ...rest)`: a windowed join with a stream, or a lookup join with a table. */
export function streamJoin<K, V>(
  stream: KStream<K, V>,
  kind: StreamJoinKind,
  args: unknown[],
): KStream<K, unknown> {
  const [other, joiner, third, fourth] = args;
  if (typeof joiner !== 'function') {
    throw new StreamsError('INVALID_TOPOLOGY', `${kind} needs a joiner function as its second argument`);
  }
  if (other instanceof KStream) {
    if (!(third instanceof JoinWindows)) {
      throw new StreamsError(
        'INVALID_TOPOLOGY',
        `a stream-stream ${kind} needs JoinWindows as its third argument`,
      );
    }
    const { node, keySerde } = addStreamStreamJoin(
      stream.graph,
      kind,
      stream as KStream<unknown, unknown>,
      other as KStream<unknown, unknown>,
      joiner as AnyJoiner,
      third,
      (fourth ?? {}) as StreamJoined<unknown, unknown, unknown>,
    );
    return new KStream(stream.graph, node, { key: keySerde, value: undefined }, false);
  }
  if (other instanceof KTable) {
    if (kind === 'outerjoin') {
      throw new StreamsError(
        'INVALID_TOPOLOGY',
        'a stream cannot be outer-joined with a table (use leftJoin)',
      );
    }
    const { node, stream: partitioned } = addStreamTableJoin(
      stream.graph,
      kind,
      stream as KStream<unknown, unknown>,
      other as KTable<unknown, unknown>,
      joiner as AnyJoiner,
      (third ?? {}) as Joined<unknown, unknown>,
    );
    return new KStream(stream.graph, node, { key: partitioned.serdes.key, value: undefined }, false);
  }
  throw new StreamsError('INVALID_TOPOLOGY', `${kind} joins a KStream or a KTable; got ${String(other)}`);
}
