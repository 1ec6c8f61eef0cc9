// The command line of bench:peers: `--records N` (default 1,000,000) and `--peers id,id` (default all, in list order).

/** Thrown for a command line bench:peers cannot run with; `code` is stable. */
export class PeersArgumentError extends Error {
  readonly code = 'BAD_ARGUMENT';
  constructor(message: string) {
    super(message);
    this.name = 'PeersArgumentError';
  }
}

export interface PeersOptions {
  records: number;
  /** The ids of the apps to run, in the order of `known`. */
  peers: string[];
}

/** `known`: the ids of every app, in the order they run. */
export function parseOptions(argv: string[], known: string[]): PeersOptions {
  const options: PeersOptions = { records: 1_000_000, peers: known };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') continue; // what some package managers put before forwarded arguments
    if (arg === '--records') {
      const value = argv[++i];
      // Digits only: Number('') is 0 and Number('1e6') a float-looking integer; neither should slip through.
      if (value === undefined || !/^[1-9]\d*$/.test(value) || !Number.isSafeInteger(Number(value))) {
        throw new PeersArgumentError(`--records needs a positive whole number, got ${value ?? 'nothing'}`);
      }
      options.records = Number(value);
    } else if (arg === '--peers') {
      const ids = (argv[++i] ?? '').split(',').filter((id) => id !== '');
      const unknown = ids.filter((id) => !known.includes(id));
      if (ids.length === 0 || unknown.length > 0) {
        throw new PeersArgumentError(
          `--peers needs ids of ${known.join(', ')}${unknown.length > 0 ? `; unknown: ${unknown.join(', ')}` : ''}`,
        );
      }
      options.peers = known.filter((id) => ids.includes(id));
    } else {
      throw new PeersArgumentError(
        `unknown argument ${arg} (bench:peers takes --records N and --peers id,id)`,
      );
    }
  }
  return options;
}
