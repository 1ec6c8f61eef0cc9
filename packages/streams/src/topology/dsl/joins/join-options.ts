// The joiners and options of the DSL's joins.
import type { Named } from '../naming.js';
import type { DslSerde } from '../serdes.js';

/** Combines the two values of a join into the result's value (`key` is the join key). */
export type ValueJoiner<K, V1, V2, VR> = (value1: V1, value2: V2, key: K) => VR;

/** Names and serdes of a stream–table join (serdes are needed when the stream is repartitioned first). */
export interface Joined<K, V> extends Named {
  keySerde?: DslSerde<K>;
  valueSerde?: DslSerde<V>;
}

/** Names, serdes and stores of a stream–stream join. */
export interface StreamJoined<K, V1, V2> extends Named {
  /**
   * Base of the store names (`<storeName>-this-store`, `-other-store`, and `-outer-store` for left/outer joins or
   * `-time-store` for inner ones); default: the join's node.
   */
  storeName?: string;
  keySerde?: DslSerde<K>;
  valueSerde?: DslSerde<V1>;
  otherValueSerde?: DslSerde<V2>;
  /** LevelDB (default) or in-memory stores. */
  persistent?: boolean;
  /** Change-logging of the join's stores (default on: what a restart restores). */
  logging?: boolean;
}
