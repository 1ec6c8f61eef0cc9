// The word-count topology as a threaded app. Args: input topic, output topic, application id, state directory,
// stream threads, brokers (comma-separated), and optionally the processing guarantee.
import { defineStreamsApp } from '@eddy/streams';
import { wordCountTopology } from '../../../examples/word-count/topology.js';

export default defineStreamsApp(({ args }) => {
  const [input, output, applicationId, stateDir, threads, brokers, guarantee] = args;
  if (input === undefined || output === undefined || applicationId === undefined || brokers === undefined) {
    throw new Error(
      'threaded-word-count needs input, output, application id, state dir, threads and brokers',
    );
  }
  return {
    topology: wordCountTopology(input, output),
    config: {
      applicationId,
      brokers: brokers.split(','),
      numStreamThreads: Number(threads ?? 2),
      commitIntervalMs: 500,
      ...(stateDir ? { stateDir } : {}),
      ...(guarantee === 'exactly-once' ? { processingGuarantee: 'exactly-once' as const } : {}),
    },
  };
});
