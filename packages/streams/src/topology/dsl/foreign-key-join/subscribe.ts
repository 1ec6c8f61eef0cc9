// The left side of a foreign-key join: turns each change of a left row into a subscription to its foreign key (and
// an unsubscription from the one it left), sent to the right side keyed by the foreign key.
import type { DropReason, ProcessorSupplier, StreamRecord } from '../../processor.js';
import type { Change } from '../change.js';
import { Instruction, type Response, type Subscription, valueHash } from './messages.js';

export interface SubscribeSpec<K, V, KO> {
  foreignKey: (value: V, key: K) => KO | null | undefined;
  /** Serializes a foreign key with the right table's key serde (two keys are equal when their bytes are). */
  foreignKeyBytes: (fk: KO) => Uint8Array;
  /** Serializes a left value with the left table's value serde, for its hash. */
  valueBytes: (value: V) => Uint8Array;
  /** Counts rows without a foreign key as dropped (an inner join has no result for them). */
  countNullKeys: boolean;
  /** The node that sends subscriptions to the right side. */
  subscriptionChild: string;
  /** The node that joins responses: a row without a foreign key (or deleted) is answered here, at once. */
  responseChild: string;
}

/**
 * Every change of a row gets exactly one answer for its new value: from the right row its foreign key names (which
 * also answers later changes of that row), or, for a deleted row or one without a foreign key, from here, with no
 * right value. A row that leaves a foreign key unsubscribes from it. Kafka Streams asks the right side for an answer
 * only where a result may change; this asks always, because an answer from the right side that crossed the row's
 * change is dropped as stale and only the next answer may set the result right; the result table drops deletes of
 * absent rows, so the extra answers emit nothing.
 */
export function subscribeSupplier<K, V, KO>(
  spec: SubscribeSpec<K, V, KO>,
): ProcessorSupplier<K, Change<V>, unknown, unknown> {
  const { foreignKey, foreignKeyBytes, valueBytes, countNullKeys, subscriptionChild, responseChild } = spec;
  const extract = (value: V | null, key: K): KO | null =>
    value === null ? null : (foreignKey(value, key) ?? null);
  const sameKey = (a: KO, b: KO | null): boolean =>
    b !== null && Buffer.from(foreignKeyBytes(a)).equals(Buffer.from(foreignKeyBytes(b)));
  return () => {
    let send: (r: StreamRecord<K, Change<V>>, hash: Buffer | null, fk: KO, instruction: Instruction) => void;
    let answer: (r: StreamRecord<K, Change<V>>, hash: Buffer | null) => void;
    let dropped: (reason: DropReason) => void;
    return {
      init(ctx) {
        dropped = (reason) => ctx.recordDropped(reason);
        send = (r, hash, fk, instruction) => {
          const subscription: Subscription<K> = {
            hash,
            instruction,
            primaryKey: r.key,
            partition: ctx.partition,
          };
          ctx.forward(
            { key: fk, value: subscription, timestamp: r.timestamp, headers: r.headers },
            subscriptionChild,
          );
        };
        answer = (r, hash) => {
          const response: Response<unknown> = { hash, foreignValue: null, partition: ctx.partition };
          ctx.forward(
            { key: r.key, value: response, timestamp: r.timestamp, headers: r.headers },
            responseChild,
          );
        };
      },
      process(r) {
        const { newValue, oldValue } = r.value;
        if (newValue === null && oldValue === null) return;
        const oldFk = extract(oldValue, r.key);
        const newFk = extract(newValue, r.key);
        const hash = newValue === null ? null : valueHash(valueBytes(newValue));
        if (oldFk !== null && !sameKey(oldFk, newFk)) send(r, hash, oldFk, Instruction.UNSUBSCRIBE);
        if (newFk !== null) {
          send(r, hash, newFk, Instruction.SUBSCRIBE);
          return;
        }
        if (newValue !== null && countNullKeys) dropped('null-foreign-key');
        answer(r, hash);
      },
    };
  };
}
