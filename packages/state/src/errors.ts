// The one error class of @eddy/state: stable codes, a cause, and the store it concerns.

export const STATE_STORE_ERROR_CODES = [
  /** The store (or its task state manager) was closed; reopen it to use it again. */
  'STORE_CLOSED',
  /** The store is registered but its task state manager has not been opened yet. */
  'STORE_NOT_OPEN',
  /** Another process (or another manager in this process) holds the task directory lock. */
  'STORE_LOCKED',
  /** The on-disk state cannot be read; wipe the store and rebuild it from its changelog. */
  'STORE_CORRUPTED',
  /** The engine could not open its database for a reason other than a lock or corruption. */
  'STORE_OPEN_FAILED',
  /** An atomic write (data + checkpoint) failed; nothing of it was applied, the commit failed. */
  'STORE_WRITE_FAILED',
  /** A caller passed a value the store cannot use. */
  'INVALID_ARGUMENT',
  /** The call is not allowed in the current state (e.g. completeCommit without prepareCommit). */
  'INVALID_STATE',
  /** No store with that name is registered. */
  'UNKNOWN_STORE',
  /** A store with that name is already registered. */
  'DUPLICATE_STORE',
  /** A source-marks header could not be decoded. */
  'INVALID_HEADER',
  /**
   * A changelog record being restored is not one the store writes (a key or value of the wrong shape, an unreadable
   * `eddy.src` header): something other than the store wrote to its changelog topic. The message names the store and
   * the record's topic, partition and offset; the restore stopped before applying the batch that holds it.
   */
  'INVALID_CHANGELOG_RECORD',
] as const;

export type StateStoreErrorCode = (typeof STATE_STORE_ERROR_CODES)[number];

export interface StateStoreErrorOptions {
  cause?: unknown;
  /** Name of the store the error concerns, when there is one. */
  store?: string;
}

/** Every error thrown by @eddy/state. Branch on `code`, never on the message. */
export class StateStoreError extends Error {
  override readonly name = 'StateStoreError';
  readonly code: StateStoreErrorCode;
  readonly store: string | undefined;

  constructor(code: StateStoreErrorCode, message: string, options: StateStoreErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.store = options.store;
  }
}

/** True when `err` is a StateStoreError, optionally with the given code. */
export function isStateStoreError(err: unknown, code?: StateStoreErrorCode): err is StateStoreError {
  return err instanceof StateStoreError && (code === undefined || err.code === code);
}
