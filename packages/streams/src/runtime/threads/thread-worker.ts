// A stream thread of a threaded app: the worker that builds the app from its module and runs it as told.
import { parentPort, workerData } from 'node:worker_threads';
import { jsonAnswer } from '../../ops/ops-answer.js';
import { STREAM_THREAD, StreamsApp, type StreamsAppOptions, THREAD_OPS } from '../streams-app.js';
import { defineFor, loadAppDefinition } from './app-module.js';
import {
  type FromThread,
  serializeError,
  type ThreadReply,
  type ThreadWorkerData,
  type ToThread,
} from './thread-messages.js';
import { type ThreadOps, threadOps } from './thread-ops.js';

/** How often the thread sends its counters to the main thread (ms). */
const METRICS_INTERVAL_MS = 250;

const port = parentPort;
if (port === null) throw new Error('thread-worker runs only as a worker thread');
const data = workerData as ThreadWorkerData;
const post = (message: FromThread) => port.postMessage(message);

let app: StreamsApp;
let ops: ThreadOps | undefined;
try {
  const definition = await loadAppDefinition(data.href, data.exportName);
  const { topology, config, options } = await defineFor(
    definition,
    { thread: data.index, args: data.args },
    data.href,
  );
  const threadOptions: StreamsAppOptions = {
    ...options,
    [STREAM_THREAD]: { index: data.index, count: data.count },
  } as StreamsAppOptions;
  app = new StreamsApp(topology, config, threadOptions);
  const appOps = app[THREAD_OPS]();
  if (appOps !== undefined) ops = threadOps(appOps);
} catch (err) {
  post({ type: 'created', error: serializeError(err) });
  port.close();
  // Not rethrown: an uncaught error reaches the main thread on another channel than the message above, and could
  // arrive first (it did on Node 24), turning the reported error into a bare "worker failed". The main thread
  // handles the messages of a worker before its exit.
  process.exit(1);
}

const sendMetrics = () =>
  post({ type: 'metrics', metrics: app.metrics, ...(ops === undefined ? {} : { probe: ops.probe() }) });
const metricsTimer = setInterval(sendMetrics, METRICS_INTERVAL_MS);
app.onStateChange((state) => {
  sendMetrics();
  post({ type: 'state', state });
});
app.onAssignment((assignment) => post({ type: 'assignment', assignment }));
app.onError((error) => post({ type: 'error', error: serializeError(error) }));

port.on('message', (message: ToThread) => {
  if (message.type === 'request') {
    const { id, request } = message;
    const answered: Promise<ThreadReply> =
      ops?.answer(request) ??
      Promise.resolve({
        kind: 'answer',
        answer: jsonAnswer(500, {
          error: { code: 'INTERNAL', message: 'the stream thread has no operations' },
        }),
      });
    void answered.then((reply) => post({ type: 'reply', id, reply }));
  } else if (message.type === 'start') {
    app.start().then(
      () => post({ type: 'started' }),
      (err: unknown) => post({ type: 'started', error: serializeError(err) }),
    );
  } else {
    app
      .close(message.options)
      .then(
        () => undefined,
        (err: unknown) => serializeError(err),
      )
      .then((error) => {
        clearInterval(metricsTimer);
        sendMetrics();
        post(error === undefined ? { type: 'closed' } : { type: 'closed', error });
        port.close();
      });
  }
});
post({ type: 'created' });
