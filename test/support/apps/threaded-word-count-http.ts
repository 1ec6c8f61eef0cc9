// The word-count topology as a threaded app with the operations server (metrics on prom-client's default registry).
// Args: input topic, output topic, application id, state directory, stream threads, brokers (comma-separated), HTTP
// port, and the `applicationServer` (host:port) the group knows it by.
import { defineStreamsApp } from '@eddy/streams';
import { wordCountTopology } from '../../../examples/word-count/topology.js';

export default defineStreamsApp(({ args }) => {
  const [input, output, applicationId, stateDir, threads, brokers, port, endpoint] = args;
  if (
    input === undefined ||
    output === undefined ||
    applicationId === undefined ||
    brokers === undefined ||
    port === undefined
  ) {
    throw new Error(
      'threaded-word-count-http needs input, output, application id, state dir, threads, brokers and port',
    );
  }
  return {
    topology: wordCountTopology(input, output),
    config: {
      applicationId,
      brokers: brokers.split(','),
      numStreamThreads: Number(threads ?? 2),
      commitIntervalMs: 100,
      clientLogLevel: 'nothing',
      ...(stateDir ? { stateDir } : {}),
      ...(endpoint ? { applicationServer: endpoint } : {}),
      http: { port: Number(port), host: '127.0.0.1', forwardTimeoutMs: 5_000 },
    },
  };
});
