// The one error class of @eddy/assignor: stable codes and a cause.

export const ASSIGNOR_ERROR_CODES = [
  /** The assignment input (members, tasks, options) is inconsistent; fix the caller. */
  'ASSIGNOR_INVALID_INPUT',
  /** Subscription or assignment bytes could not be decoded; the sender is broken or not an Eddy member. */
  'ASSIGNOR_DECODE_FAILED',
  /** A value cannot be represented in the wire format (e.g. a task id not of the form `<int>_<int>`). */
  'ASSIGNOR_ENCODE_FAILED',
  /** A userData version outside what this build reads or writes; upgrade the older members. */
  'ASSIGNOR_UNSUPPORTED_VERSION',
  /** No member identity: set POD_NAME or HOSTNAME, or pass one explicitly. */
  'ASSIGNOR_IDENTITY_MISSING',
  /** The persisted process id file is unreadable or malformed; delete it (or regenerate) to get a new id. */
  'ASSIGNOR_PROCESS_ID_CORRUPT',
  /** Reading or writing the process id file failed for an I/O reason. */
  'ASSIGNOR_PROCESS_ID_IO',
  /** A query asked for a store that the routing metadata does not know. */
  'ASSIGNOR_UNKNOWN_STORE',
] as const;

export type AssignorErrorCode = (typeof ASSIGNOR_ERROR_CODES)[number];

/** Every error thrown by @eddy/assignor. Branch on `code`, never on the message. */
export class AssignorError extends Error {
  override readonly name = 'AssignorError';
  readonly code: AssignorErrorCode;

  constructor(code: AssignorErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

/** True when `err` is an AssignorError, optionally with the given code. */
export function isAssignorError(err: unknown, code?: AssignorErrorCode): err is AssignorError {
  return err instanceof AssignorError && (code === undefined || err.code === code);
}
