// The messages between a threaded app and its stream threads, and how an error crosses between them.
import { type RecordPosition, StreamsError, type StreamsErrorCode } from '../../errors.js';
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

export interface SerializedError {
  code: StreamsErrorCode;
  message: string;
  position?: RecordPosition;
}

/** Main thread → stream thread. */
export type ToThread = { type: 'start' } | { type: 'close'; options: CloseOptions };

/** Stream thread → main thread. */
export type FromThread =
  /** The app is built (or could not be: `error`); it waits for `start`. */
  | { type: 'created'; error?: SerializedError }
  | { type: 'started'; error?: SerializedError }
  | { type: 'state'; state: StreamsState }
  | { type: 'assignment'; assignment: TaskAssignment }
  | { type: 'error'; error: SerializedError }
  | { type: 'metrics'; metrics: StreamsMetrics }
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
