// An answer of the operations server as data (status, headers, body), so that it can be computed on one thread and
// written on another; and the JSON error every failure answers.
import { errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';

export interface OpsAnswer {
  status: number;
  headers: Record<string, string>;
  body: string | Uint8Array;
}

/** An answer with a status and a JSON error body: `{ "error": { "code", "message" } }`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function jsonAnswer(status: number, body: unknown, stale = false): OpsAnswer {
  return {
    status,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      ...(stale ? { 'eddy-stale': 'true' } : {}),
    },
    body: JSON.stringify(body),
  };
}

/** The answer to a failure: an HttpError's own, or 500 INTERNAL (logged) for anything else. */
export function errorAnswer(err: unknown, logger: Logger): OpsAnswer {
  const e = err instanceof HttpError ? err : new HttpError(500, 'INTERNAL', errorMessage(err));
  if (e.status >= 500 && !(err instanceof HttpError)) {
    logger.warn('an HTTP request failed', { error: errorMessage(err) });
  }
  return jsonAnswer(e.status, { error: { code: e.code, message: e.message } });
}
