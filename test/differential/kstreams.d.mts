// Types for kstreams.mjs (plain JavaScript, as test/kafka/broker.mjs).
export declare function fetchJars(): void;
export declare function build(): void;
export declare function command(
  bootstrap: string,
  stateDir: string,
  specs: string[],
): { command: string; args: string[] };
