// The word-count topology as a threaded app. Args: input topic, output topic, application id, state directory,
// stream threads, brokers (comma-separated), and optionally the processing guarantee.
import { type AppDefinitionResult, defineStreamsApp } from '@eddy/streams';
import { wordCountTopology } from '../../../examples/word-count/topology.js';

/** The app of the first six args (the guarantee aside); `name` says who needs them when one is missing. */
export function threadedWordCount(args: readonly string[], name: string): AppDefinitionResult {
  const [input, output, applicationId, stateDir, threads, brokers] = args;
  if (input === undefined || output === undefined || applicationId === undefined || brokers === undefined) {
    throw new Error(`${name} needs input, output, application id, state dir, threads and brokers`);
  }
  return {
    topology: wordCountTopology(input, output),
    config: {
      applicationId,
      brokers: brokers.split(','),
      numStreamThreads: Number(threads ?? 2),
      commitIntervalMs: 500,
      ...(stateDir ? { stateDir } : {}),
    },
  };
}

export default defineStreamsApp(({ args }) => {
  const app = threadedWordCount(args, 'threaded-word-count');
  const guarantee = args[6];
  return guarantee === 'exactly-once'
    ? { ...app, config: { ...app.config, processingGuarantee: 'exactly-once' } }
    : app;
});
