// Types for kstreams.mjs (plain JavaScript, as test/kafka/broker.mjs).
export declare function fetchJars(): void;
export declare function build(options?: { sources?: string; classes?: string }): void;
export declare function javaCommand(options: {
  classes?: string;
  mainClass: string;
  jvmOptions?: string[];
  args?: string[];
}): { command: string; args: string[] };
export declare function command(
  bootstrap: string,
  stateDir: string,
  specs: string[],
): { command: string; args: string[] };
