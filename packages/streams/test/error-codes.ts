// The code of the StreamsError a call throws, for tests of validation.
import { StreamsError } from '../src/index.js';

/** The error's code; 'not a StreamsError' for another throw; undefined when the call returns. */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof StreamsError ? err.code : 'not a StreamsError';
  }
  return undefined;
}
