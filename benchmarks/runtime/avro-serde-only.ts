// Runs only the runtime.avro-serde figures; writes them to benchmarks/results/runtime.json like the full suite.
import { run } from 'mitata';
import { writeResults } from '../support/results.js';
import { avroSerdeFigures } from './avro-serde.js';

const { benchmarks } = await run();
await writeResults('runtime', await avroSerdeFigures(benchmarks));
