// The word-split topology: sentences in, one record per word (keyed by the word) out, stop words dropped.
import { Serdes, StreamsBuilder, type Topology } from '@eddy/streams';

const STOP_WORDS = new Set(['a', 'an', 'and', 'the', 'of', 'to', 'in', 'is', 'it']);

/** The words of a sentence that the topology outputs, in order. */
export function wordsOf(sentence: string | null): string[] {
  return (sentence ?? '')
    .toLowerCase()
    .split(/[^\p{L}\p{N}']+/u)
    .filter((w) => w.length > 0 && !STOP_WORDS.has(w));
}

export function wordSplitTopology(input: string, output: string): Topology {
  const builder = new StreamsBuilder();
  builder
    .stream(input, { keySerde: Serdes.string(), valueSerde: Serdes.string() })
    .flatMapValues((sentence) => wordsOf(sentence))
    .map((_, word) => [word, word])
    .to(output, { keySerde: Serdes.string(), valueSerde: Serdes.string() });
  return builder.build();
}
