// The Eddy count of the peers benchmark as the module of a threaded app: its default export is the definition
// ThreadedStreamsApp.load calls on the main thread and on each stream thread, with the arguments of eddy-app.ts as
// its `args`. eddy-app.ts reads its command line with parseEddyArgs and builds its one-thread StreamsApp from the
// same eddyCount, so both run one topology and one configuration.
import { defineStreamsApp, type StreamsConfig, type Topology } from '@eddy/streams';
import { wordCountTopology } from '../../examples/word-count/topology.js';

export const EDDY_USAGE =
  'usage: eddy-app.ts <brokers> <application id> <input> <output> <at-least-once|exactly-once> <commit ms> <state dir> [kafkajs|platformatic] [stream threads]';

export interface EddyArgs {
  brokers: string;
  applicationId: string;
  input: string;
  output: string;
  guarantee: 'at-least-once' | 'exactly-once';
  commitMs: number;
  stateDir: string;
  client: 'kafkajs' | 'platformatic';
  /** 1 (the default): a StreamsApp; more: a ThreadedStreamsApp of this module. */
  threads: number;
}

/** The arguments of eddy-app.ts, or undefined when they do not fit EDDY_USAGE. */
export function parseEddyArgs(args: readonly string[]): EddyArgs | undefined {
  const [
    brokers,
    applicationId,
    input,
    output,
    guarantee,
    commitMs,
    stateDir,
    client = 'kafkajs',
    threads = '1',
  ] = args;
  if (
    !brokers ||
    !applicationId ||
    !input ||
    !output ||
    !stateDir ||
    (guarantee !== 'at-least-once' && guarantee !== 'exactly-once') ||
    !(Number(commitMs) > 0) ||
    (client !== 'kafkajs' && client !== 'platformatic') ||
    !/^[1-9]\d*$/.test(threads)
  ) {
    return undefined;
  }
  return {
    brokers,
    applicationId,
    input,
    output,
    guarantee,
    commitMs: Number(commitMs),
    stateDir,
    client,
    threads: Number(threads),
  };
}

/** The word-count topology (LevelDB store, no cache) and its configuration, on every thread alike. */
export function eddyCount(a: EddyArgs): { topology: Topology; config: StreamsConfig } {
  return {
    topology: wordCountTopology(a.input, a.output),
    config: {
      applicationId: a.applicationId,
      brokers: a.brokers.split(','),
      stateDir: a.stateDir,
      processingGuarantee: a.guarantee,
      commitIntervalMs: a.commitMs,
      client: a.client,
      numStreamThreads: a.threads,
      logger: { debug() {}, info() {}, warn() {}, error: (m) => process.stderr.write(`${m}\n`) },
    },
  };
}

export default defineStreamsApp(({ args }) => {
  const parsed = parseEddyArgs(args);
  if (parsed === undefined) throw new Error(EDDY_USAGE);
  return eddyCount(parsed);
});
