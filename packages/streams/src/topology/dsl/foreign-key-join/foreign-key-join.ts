// Builds a table–table foreign-key join: the left table subscribes each row to the right row its foreign key
// names, through a subscription topic partitioned like the right table, and the right side answers through a
// response topic back to the left row's partition.
import { StreamsError } from '../../../errors.js';
import { Serdes } from '../../../serdes/serde.js';
import type { StreamRecord } from '../../processor.js';
import { KTable } from '../ktable.js';
import { dslKeyValueStore, dslTableStore, foldingBound, type Materialized } from '../materialized.js';
import type { Named } from '../naming.js';
import { addRepartition } from '../repartition.js';
import { keyIdOf, requireSerde } from '../serdes.js';
import { storeValueGetter } from '../value-getter.js';
import { type Response, responseSerde, subscriptionSerde } from './messages.js';
import { responseJoinSupplier } from './response-join.js';
import { rightChangeSupplier, subscriptionJoinSupplier } from './right-side.js';
import { subscribeSupplier } from './subscribe.js';

/**
 * Options of a foreign-key join. `name` names the join's nodes, internal topics
 * (`<applicationId>-<name>-subscription-repartition`, `...-response-repartition`) and the subscription store
 * (`<name>-subscription-store`); name the join to keep its state across changes upstream.
 */
export interface ForeignKeyJoined<K, VR> extends Named {
  /** The result table's store (default `<join node>-store`); it needs a value serde for the joiner's results. */
  materialized?: Materialized<K, VR>;
}

/** @internal */
export function foreignKeyJoin<K, V, KO, VO, VR>(
  left: KTable<K, V>,
  right: KTable<KO, VO>,
  foreignKey: (value: V, key: K) => KO | null | undefined,
  joiner: (value: V, otherValue: VO | null) => VR,
  options: ForeignKeyJoined<K, VR>,
  leftJoin: boolean,
): KTable<K, VR> {
  const graph = left.graph;
  const operation = leftJoin ? 'fkleftjoin' : 'fkjoin';
  if (right.graph !== graph) {
    throw new StreamsError(
      'INVALID_TOPOLOGY',
      `${operation}: both tables must come from the same StreamsBuilder`,
    );
  }
  if (right.nodeName === left.nodeName) {
    // Both sides would live in one subtopology that reads the topics it writes, which the runtime does not run.
    throw new StreamsError(
      'INVALID_TOPOLOGY',
      `${operation}: a table cannot be joined with itself on a foreign key`,
    );
  }
  const leftValues = left.valueGetter;
  const rightValues = right.valueGetter;
  if (leftValues === undefined || rightValues === undefined) {
    throw new StreamsError(
      'INVALID_TOPOLOGY',
      `${operation}: the ${leftValues === undefined ? 'left' : 'right'} table is not materialized; materialize it first`,
    );
  }
  const keySerde = requireSerde<K>(`${operation} (left key)`, left.serdes.key);
  const valueSerde = requireSerde<V>(`${operation} (left value)`, left.serdes.value);
  const foreignKeySerde = requireSerde<KO>(`${operation} (right key)`, right.serdes.key);
  const foreignValueSerde = requireSerde<VO>(`${operation} (right value)`, right.serdes.value);
  const materialized = options.materialized ?? {};
  const resultSerde = requireSerde<VR>(`${operation} (result value)`, materialized.valueSerde);

  const base = graph.names.name(operation, [left.nodeName, right.nodeName], options);
  const names = graph.names;
  const subscribe = names.claim(`${base}-subscribe`);
  const subscriptionJoin = names.claim(`${base}-subscription-join`);
  const rightChange = names.claim(`${base}-right-change`);
  const responses = names.claim(`${base}-responses`);
  const subscriptionStore = graph.storeName(base, `${base}-subscription-store`);
  const resultStore = graph.storeName(base, materialized.name);
  const topology = graph.topology;
  const foreignKeyBytes = (fk: KO) => foreignKeySerde.serialize(fk);
  const valueBytes = (v: V) => valueSerde.serialize(v);

  // Left side: each change of a left row becomes subscriptions, partitioned like the right table.
  topology.addProcessor(
    subscribe,
    subscribeSupplier<K, V, KO>({
      foreignKey,
      foreignKeyBytes,
      valueBytes,
      countNullKeys: !leftJoin,
      subscriptionChild: `${base}-subscription-filter`,
      responseChild: base,
    }),
    left.nodeName,
  );
  const subscriptions = addRepartition(graph, subscribe, {
    base: `${base}-subscription`,
    keySerde: foreignKeySerde,
    valueSerde: subscriptionSerde(keySerde),
    copartitionWithReader: true,
  });

  // Right side: subscriptions and right changes become responses, sent back to the left row's partition.
  const rightSide = {
    storeName: subscriptionStore,
    foreignKeyBytes,
    primaryKeyBytes: (pk: K) => keySerde.serialize(pk),
    primaryKey: (bytes: Uint8Array) => keySerde.deserialize(bytes),
    rightValues,
  };
  topology.addProcessor(subscriptionJoin, subscriptionJoinSupplier(rightSide), subscriptions);
  topology.addProcessor(rightChange, rightChangeSupplier(rightSide), right.nodeName);
  topology.connectProcessorAndStateStores([subscriptionJoin], ...rightValues.storeNames);
  graph.addStore(
    dslKeyValueStore(subscriptionStore, Serdes.bytes(), Serdes.bytes(), undefined),
    subscriptionJoin,
    rightChange,
  );
  topology.addProcessor<K, Response<VO>, K, Response<VO>>(
    responses,
    () => {
      let forward: (r: StreamRecord<K, Response<VO>>) => void;
      return {
        init: (ctx) => {
          forward = (r) => ctx.forward(r);
        },
        process: (r) => forward(r),
      };
    },
    subscriptionJoin,
    rightChange,
  );
  const responseSource = addRepartition(graph, responses, {
    base: `${base}-response`,
    keySerde,
    valueSerde: responseSerde(foreignValueSerde),
    copartitionWithReader: true,
    partitioner: (r) => r.value.partition,
  });

  // Left side again: responses still current for their row are joined into the result table.
  topology.addProcessor(
    base,
    responseJoinSupplier<K, V, VO, VR>({
      leftValues,
      valueBytes,
      joiner,
      leftJoin,
      storeName: resultStore,
      foldingBound: foldingBound(materialized as Materialized<unknown, unknown>),
      keyId: keyIdOf(keySerde),
    }),
    responseSource,
    subscribe,
  );
  topology.connectProcessorAndStateStores([base], ...leftValues.storeNames);
  graph.addStore(dslTableStore(resultStore, keySerde, resultSerde, materialized), base);
  return new KTable<K, VR>(
    graph,
    base,
    { key: keySerde, value: resultSerde },
    storeValueGetter<K, VR>(resultStore),
    resultStore,
  );
}
