// The command line of bench:peers: `--records N` (default 1,000,000).

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
}

export function parseOptions(argv: string[]): PeersOptions {
  const options: PeersOptions = { records: 1_000_000 };
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
    } else {
      throw new PeersArgumentError(`unknown argument ${arg} (bench:peers takes --records N)`);
    }
  }
  return options;
}
