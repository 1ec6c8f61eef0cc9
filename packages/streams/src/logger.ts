// The logger interface the runtime writes to, and its default: one JSON line per entry on stderr.

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

type Level = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Writes entries at or above `level` as JSON lines to stderr. */
export function jsonLogger(level: Level = 'info', name = 'eddy'): Logger {
  const write = (at: Level) => (message: string, fields?: LogFields) => {
    if (RANK[at] < RANK[level]) return;
    process.stderr.write(
      `${JSON.stringify({ time: new Date().toISOString(), level: at, logger: name, message, ...fields })}\n`,
    );
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}
