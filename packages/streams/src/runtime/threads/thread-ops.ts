// A stream thread's side of its threaded app's operations: what the main thread's probes read, and the answers to
// the main thread's scrapes (the thread's own metrics registry) and store queries.
import { errorAnswer } from '../../ops/ops-answer.js';
import { type ResolvedHttpOptions, resolveHttpOptions } from '../../ops/ops-options.js';
import { LocalStoreQueries } from '../../ops/store-query-handler.js';
import type { ThreadAppOps } from '../streams-app.js';
import type { ThreadProbe, ThreadReply, ThreadRequest } from './thread-messages.js';

export interface ThreadOps {
  /** What the main thread's probes read; sent with the counters. */
  probe(): ThreadProbe;
  answer(request: ThreadRequest): Promise<ThreadReply>;
}

/** The answers of a stream thread to its threaded app's probes, scrapes and store queries. */
export function threadOps(ops: ThreadAppOps): ThreadOps {
  const { view, registry, logger } = ops;
  const http: ResolvedHttpOptions = ops.http ?? resolveHttpOptions({ port: 0 })!;
  const stores = new LocalStoreQueries(http, view);
  return {
    probe: () => ({
      stuckForMs: view.stuckForMs(),
      pendingTasks: view.pendingTasks(),
      consumerLags: new Map(view.consumerLags()),
    }),
    async answer(request) {
      try {
        switch (request.kind) {
          case 'metrics':
            return { kind: 'metrics', metrics: (await registry?.getMetricsAsJSON()) ?? [] };
          case 'route':
            return { kind: 'route', route: stores.route(new URL(request.path, 'http://localhost')) };
          case 'query':
            return {
              kind: 'answer',
              answer: await stores.answer(new URL(request.path, 'http://localhost'), request.forwarded),
            };
        }
      } catch (err) {
        return { kind: 'answer', answer: errorAnswer(err, logger) };
      }
    },
  };
}
