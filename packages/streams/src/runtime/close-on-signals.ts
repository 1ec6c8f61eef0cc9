// Closes an app on SIGTERM and SIGINT, then exits the process: 0, or 1 after a failure or a failed close.
import { errorMessage } from '../errors.js';

/** Installs the handlers; returns what removes them. `failed` says, once closed, whether a failure stopped the app. */
export function closeOnSignals(close: () => Promise<void>, failed: () => boolean): () => void {
  const handler = (signal: NodeJS.Signals): void => {
    process.off('SIGTERM', handler);
    process.off('SIGINT', handler);
    close().then(
      () => process.exit(failed() ? 1 : 0),
      (err) => {
        process.stderr.write(`close after ${signal} failed: ${errorMessage(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return () => {
    process.off('SIGTERM', handler);
    process.off('SIGINT', handler);
  };
}
