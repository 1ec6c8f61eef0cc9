// The node that merges the outputs of a join's two side processors into one stream.
import type { ProcessorSupplier, StreamRecord } from '../../processor.js';

export function passThrough<K, V>(): ProcessorSupplier<K, V, K, V> {
  return () => {
    let forward: (r: StreamRecord<K, V>) => void;
    return {
      init(ctx) {
        forward = (r) => ctx.forward(r);
      },
      process(r) {
        forward(r);
      },
    };
  };
}
