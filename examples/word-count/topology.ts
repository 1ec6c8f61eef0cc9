// The word-count topology: counts records per key in the store `counts` and writes each new count out: one output
// per input record, which its exactly-once tests and the end-to-end benchmark check. A table's cache would fold a
// key's counts between two commits into one output, so this count turns caching off unless asked for it.
import { Serdes, StreamsBuilder, type Topology } from '@eddy/streams';

export function wordCountTopology(
  input: string,
  output: string,
  store = 'counts',
  caching = false,
): Topology {
  const builder = new StreamsBuilder();
  builder
    .stream(input, { keySerde: Serdes.string(), valueSerde: Serdes.string() })
    .groupByKey({ keySerde: Serdes.string() })
    .count({ name: store, caching })
    .toStream()
    .mapValues((n) => String(n))
    .to(output, { keySerde: Serdes.string(), valueSerde: Serdes.string() });
  return builder.build();
}
