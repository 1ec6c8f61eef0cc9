// The one error class of the eddy CLI: stable codes, each with its process exit code.

export const CLI_ERROR_CODES = [
  /** An option or argument is missing, malformed or contradicts another. */
  'INVALID_ARGUMENT',
  /** The module given to `describe` could not be loaded or exports no topology. */
  'INVALID_MODULE',
  /** The group has members: stop every instance (or consumer) of it first. */
  'GROUP_NOT_EMPTY',
  /** The group has no committed offsets (never ran, or a typo in its name). */
  'GROUP_NOT_FOUND',
  /** A topic named on the command line does not exist. */
  'TOPIC_NOT_FOUND',
  /** The operation did not finish within its `--timeout`. */
  'TIMEOUT',
  /** No broker answered within the connect timeout. */
  'BROKER_UNREACHABLE',
  /** The cluster refused or failed a request. */
  'KAFKA_FAILED',
  /** A file could not be read or written, or is not what the command expects. */
  'FILE_FAILED',
] as const;

export type CliErrorCode = (typeof CLI_ERROR_CODES)[number];

/** The exit code of a failed command: 2 for bad input, 3 for a timeout, 1 otherwise. */
export function exitCodeOf(code: CliErrorCode): number {
  switch (code) {
    case 'INVALID_ARGUMENT':
    case 'INVALID_MODULE':
      return 2;
    case 'TIMEOUT':
      return 3;
    default:
      return 1;
  }
}

export class CliError extends Error {
  readonly code: CliErrorCode;

  constructor(code: CliErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
    this.code = code;
  }
}

export function invalidArgument(message: string): CliError {
  return new CliError('INVALID_ARGUMENT', message);
}

/** `err` as a CliError: unchanged if it is one, else KAFKA_FAILED carrying it. */
export function asCliError(err: unknown): CliError {
  if (err instanceof CliError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new CliError('KAFKA_FAILED', message, { cause: err });
}
