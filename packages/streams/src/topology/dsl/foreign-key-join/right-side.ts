// The right side of a foreign-key join: records subscriptions and answers them with the current right value, and
// answers every subscriber of a foreign key again when its right value changes. A response has the later of the
// subscription's and the right value's timestamps, as in Kafka Streams.
import type { KeyValueStore } from '@eddy/state';
import type { ProcessorContext, ProcessorSupplier } from '../../processor.js';
import type { Change } from '../change.js';
import type { ValueAndTimestamp } from '../value-and-timestamp.js';
import { joinedTimestamp, type ValueGetterSupplier } from '../value-getter.js';
import { Instruction, type Response, type Subscription } from './messages.js';
import { SubscriptionStore } from './subscription-store.js';

export interface RightSideSpec<K, KO, VO> {
  /** The store of the subscriptions (bytes to bytes, see SubscriptionStore). */
  storeName: string;
  foreignKeyBytes: (fk: KO) => Uint8Array;
  primaryKeyBytes: (pk: K) => Uint8Array;
  primaryKey: (bytes: Uint8Array) => K;
  rightValues: ValueGetterSupplier<KO, VO>;
}

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

function openStore(ctx: ProcessorContext<unknown, unknown>, name: string): SubscriptionStore {
  return new SubscriptionStore(ctx.getStateStore<KeyValueStore<Buffer, Buffer>>(name));
}

/** Keeps the subscription store up to date and answers each subscription with the current right value. */
export function subscriptionJoinSupplier<K, KO, VO>(
  spec: RightSideSpec<K, KO, VO>,
): ProcessorSupplier<KO | null, Subscription<K> | null, K, Response<VO>> {
  return () => {
    let ctx: ProcessorContext<K, Response<VO>>;
    let subscriptions: SubscriptionStore;
    let rightValue: (fk: KO) => ValueAndTimestamp<VO> | undefined;
    return {
      init(context) {
        ctx = context;
        subscriptions = openStore(context, spec.storeName);
        rightValue = spec.rightValues.create(context);
      },
      process(r) {
        const fk = r.key;
        const s = r.value;
        if (fk === null || fk === undefined || s === null || s === undefined) return;
        const fkBytes = asBuffer(spec.foreignKeyBytes(fk));
        const pkBytes = asBuffer(spec.primaryKeyBytes(s.primaryKey));
        if (s.instruction === Instruction.UNSUBSCRIBE) {
          subscriptions.unsubscribe(fkBytes, pkBytes);
          return;
        }
        subscriptions.subscribe(fkBytes, pkBytes, s.hash, s.partition, r.timestamp);
        const found = rightValue(fk);
        ctx.forward({
          key: s.primaryKey,
          value: { hash: s.hash, foreignValue: found?.value ?? null, partition: s.partition },
          timestamp: joinedTimestamp(r.timestamp, found),
          headers: r.headers,
        });
      },
    };
  };
}

/** Sends a right value's change to every left row subscribed to its key, in the order of their keys' bytes. */
export function rightChangeSupplier<K, KO, VO>(
  spec: Pick<RightSideSpec<K, KO, VO>, 'storeName' | 'foreignKeyBytes' | 'primaryKey'>,
): ProcessorSupplier<KO | null, Change<VO>, K, Response<VO>> {
  return () => {
    let ctx: ProcessorContext<K, Response<VO>>;
    let subscriptions: SubscriptionStore;
    return {
      init(context) {
        ctx = context;
        subscriptions = openStore(context, spec.storeName);
      },
      process(r) {
        const fk = r.key;
        if (fk === null || fk === undefined) return;
        const foreignValue = r.value.newValue;
        for (const s of subscriptions.subscribers(asBuffer(spec.foreignKeyBytes(fk)))) {
          ctx.forward({
            key: spec.primaryKey(s.primaryKey),
            value: { hash: s.hash, foreignValue, partition: s.partition },
            timestamp: Math.max(r.timestamp, s.timestamp),
            headers: r.headers,
          });
        }
      },
    };
  };
}
