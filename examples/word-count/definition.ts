// The word-count service as a threaded app's definition (NUM_STREAM_THREADS > 1): every stream thread builds the
// topology over args [input topic, output topic] and the service's configuration from the environment.
import { defineStreamsApp } from '@eddy/streams';
import { serviceConfig } from '../service/run-service.js';
import { wordCountTopology } from './topology.js';

export default defineStreamsApp(({ args }) => {
  const [input = 'words', output = 'word-counts'] = args;
  return { topology: wordCountTopology(input, output), config: serviceConfig('word-count', process.env) };
});
