// The messages between a threaded app and its stream threads, and how an error crosses between them.
import { type RecordPosition, StreamsError, type StreamsErrorCode } from '../../errors.js';
import type { MetricsJson } from '../../ops/aggregated-metrics.js';
import type { KeyRoute } from '../../ops/app-view.js';
import type { OpsAnswer } from '../../ops/ops-answer.js';
import type { TaskAssignment } from '../rebalance-handler.js';
import type { CloseOptions, StreamsMetrics, StreamsState } from '../streams-app.js';

/** What the main thread gives each worker. */
export interface ThreadWorkerData {
  readonly href: string;
  readonly exportName: string;
  readonly args: readonly string[];
  readonly index: number;
  readonly count: number;
}

/** What the main thread's probes read of a stream thread, sent with its counters. */
export interface ThreadProbe {
  stuckForMs: number;
  pendingTasks: number;
  consumerLags: Map<string, number | undefined>;
}

/** What the main thread asks a stream thread, at a scrape or a query. */
export type ThreadRequest =
  /** Its metrics, as `getMetricsAsJSON()` of its own registry. */
  | { kind: 'metrics' }
  /** The route of a key query (`path`: the URL path and search of `/stores/<store>/keys/<key>`). */
  | { kind: 'route'; path: string }
  /** A store query, answered from the thread's own stores (and sent on to other instances as it says). */
  | { kind: 'query'; path: string; forwarded: boolean };

export type ThreadReply =
  | { kind: 'metrics'; metrics: MetricsJson }
  | { kind: 'route'; route: KeyRoute }
  /** The answer to a query, or to a route that failed (its error answer). */
  | { kind: 'answer'; answer: OpsAnswer };

export interface SerializedError {
  code: StreamsErrorCode;
  message: string;
  position?: RecordPosition;
}

/** Main thread → stream thread. */
export type ToThread =
  | { type: 'start' }
  | { type: 'close'; options: CloseOptions }
  | { type: 'request'; id: number; request: ThreadRequest };

/** Stream thread → main thread. */
export type FromThread =
  /** The app is built (or could not be: `error`); it waits for `start`. */
  | { type: 'created'; error?: SerializedError }
  | { type: 'started'; error?: SerializedError }
  | { type: 'state'; state: StreamsState }
  | { type: 'assignment'; assignment: TaskAssignment }
  | { type: 'error'; error: SerializedError }
  | { type: 'metrics'; metrics: StreamsMetrics; probe?: ThreadProbe }
  | { type: 'reply'; id: number; reply: ThreadReply }
  | { type: 'closed'; error?: SerializedError };

export function serializeError(err: unknown): SerializedError {
  if (err instanceof StreamsError) {
    return {
      code: err.code,
      message: err.message,
      ...(err.position === undefined ? {} : { position: err.position }),
    };
  }
  return { code: 'STREAM_THREAD_FAILED', message: err instanceof Error ? err.message : String(err) };
}

/** The error a stream thread reported, as the threaded app raises it: which thread says `thread`. */
export function deserializeError(error: SerializedError, thread: number): StreamsError {
  return new StreamsError(error.code, `stream thread ${thread}: ${error.message}`, {
    ...(error.position === undefined ? {} : { position: error.position }),
  });
}
