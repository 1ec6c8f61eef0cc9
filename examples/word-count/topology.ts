// The word-count topology: counts records per key in the store `counts` and writes each new count out.
import { Serdes, StreamsBuilder, type Topology } from '@eddy/streams';

export function wordCountTopology(input: string, output: string, store = 'counts'): Topology {
  const builder = new StreamsBuilder();
  builder
    .stream(input, { keySerde: Serdes.string(), valueSerde: Serdes.string() })
    .groupByKey({ keySerde: Serdes.string() })
    .count({ name: store })
    .toStream()
    .mapValues((n) => String(n))
    .to(output, { keySerde: Serdes.string(), valueSerde: Serdes.string() });
  return builder.build();
}
