// Public API of @eddy/cli: run the command line in-process, and its error codes.
export { CLI_ERROR_CODES, CliError, type CliErrorCode } from './errors.js';
export { run } from './program.js';
