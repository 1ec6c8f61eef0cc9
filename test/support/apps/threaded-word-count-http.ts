// The word-count topology as a threaded app with the operations server (metrics on prom-client's default registry).
// Args: those of threaded-word-count.ts (input topic, output topic, application id, state directory, stream
// threads, brokers), then the HTTP port and the `applicationServer` (host:port) the group knows it by.
import { defineStreamsApp } from '@eddy/streams';
import { threadedWordCount } from './threaded-word-count.js';

export default defineStreamsApp(({ args }) => {
  const app = threadedWordCount(args, 'threaded-word-count-http');
  const [port, endpoint] = args.slice(6);
  if (port === undefined) throw new Error('threaded-word-count-http needs an HTTP port after the brokers');
  return {
    ...app,
    config: {
      ...app.config,
      commitIntervalMs: 100,
      clientLogLevel: 'nothing',
      ...(endpoint ? { applicationServer: endpoint } : {}),
      http: { port: Number(port), host: '127.0.0.1', forwardTimeoutMs: 5_000 },
    },
  };
});
