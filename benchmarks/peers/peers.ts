// The apps of the peers benchmark: each runs the same count in a process of its own. Another client, guarantee or
// thread count is one more entry in PEERS.
import { fileURLToPath } from 'node:url';
import { javaCommand } from '../../test/differential/kstreams.mjs';

export type Guarantee = 'at-least-once' | 'exactly-once';

/** Commit intervals of every app: Kafka Streams' defaults for the two guarantees. */
export const COMMIT_INTERVAL_MS: Record<Guarantee, number> = {
  'at-least-once': 1_000,
  'exactly-once': 100,
};

/** What an app is started with; its consumer group is `applicationId`. */
export interface PeerRun {
  brokers: string;
  applicationId: string;
  input: string;
  output: string;
  /** An empty directory of its own. */
  stateDir: string;
}

export interface Peer {
  /** Lower-case letters, digits and dashes: names its figures (`peers.count.<id>.*`) and topics. */
  id: string;
  /** For tables and the chart. */
  label: string;
  /** Which bars share a colour in the chart: the implementation. */
  client: 'Kafka Streams' | 'kafkajs by hand' | 'Eddy' | 'Eddy on @platformatic/kafka';
  guarantee: Guarantee;
  command(run: PeerRun): { command: string; args: string[] };
}

/** Where the Kafka Streams count app is compiled to (test/differential/kstreams.mjs builds it). */
export const KSTREAMS_APP = {
  sources: fileURLToPath(new URL('kstreams/src/main/java', import.meta.url)),
  classes: fileURLToPath(new URL('kstreams/dist/classes', import.meta.url)),
};

/**
 * Node with tsx and the workspace's TypeScript sources, as the bench:* scripts run; the pid is the app's.
 * `PEERS_NODE_ARGS` (space-separated) goes before them, e.g. a heap bound for the Node apps.
 */
function node(script: string, args: string[]): { command: string; args: string[] } {
  return {
    command: process.execPath,
    args: [
      ...(process.env.PEERS_NODE_ARGS ?? '').split(' ').filter((a) => a !== ''),
      '--import',
      'tsx',
      '--conditions=eddy-source',
      fileURLToPath(new URL(script, import.meta.url)),
      ...args,
    ],
  };
}

function kafkaStreams(guarantee: Guarantee, threads: number): Peer {
  const suffix = guarantee === 'at-least-once' ? 'alos' : 'eos';
  return {
    id: threads === 1 ? `kafka-streams-${suffix}` : `kafka-streams-${threads}-threads-${suffix}`,
    label: `Kafka Streams ${guarantee}${threads === 1 ? '' : `, ${threads} threads`}`,
    client: 'Kafka Streams',
    guarantee,
    command: (run) =>
      javaCommand({
        classes: KSTREAMS_APP.classes,
        mainClass: 'dev.eddy.peers.CountApp',
        // The JVM's own defaults otherwise (G1, heap sized from the machine's memory), as an app is usually started.
        jvmOptions: [],
        args: [
          run.brokers,
          run.stateDir,
          run.applicationId,
          run.input,
          run.output,
          guarantee === 'at-least-once' ? 'at_least_once' : 'exactly_once_v2',
          String(COMMIT_INTERVAL_MS[guarantee]),
          String(threads),
        ],
      }),
  };
}

function eddy(guarantee: Guarantee, client: 'kafkajs' | 'platformatic' = 'kafkajs', threads = 1): Peer {
  const onPlatformatic = client === 'platformatic';
  const suffix = `${guarantee === 'at-least-once' ? 'alos' : 'eos'}${onPlatformatic ? '-platformatic' : ''}`;
  return {
    // As Kafka Streams': the one-thread ids stay as they were.
    id: threads === 1 ? `eddy-${suffix}` : `eddy-${threads}-threads-${suffix}`,
    label: `Eddy ${guarantee}${onPlatformatic ? ' on @platformatic/kafka' : ''}${threads === 1 ? '' : `, ${threads} threads`}`,
    client: onPlatformatic ? 'Eddy on @platformatic/kafka' : 'Eddy',
    guarantee,
    command: (run) =>
      node('eddy-app.ts', [
        run.brokers,
        run.applicationId,
        run.input,
        run.output,
        guarantee,
        String(COMMIT_INTERVAL_MS[guarantee]),
        run.stateDir,
        client,
        String(threads),
      ]),
  };
}

/** The hand-written kafkajs count (support/raw-count.ts): no store, no changelog, at-least-once, 1 s commits. */
const rawKafkajs: Peer = {
  id: 'raw-kafkajs',
  label: 'kafkajs by hand (no store)',
  client: 'kafkajs by hand',
  guarantee: 'at-least-once',
  command: (run) => node('raw-app.ts', [run.brokers, run.applicationId, run.input, run.output]),
};

/** The hand-written kafkajs count with a LevelDB store and a changelog (support/raw-store-count.ts). */
const rawKafkajsStore: Peer = {
  id: 'raw-kafkajs-store',
  label: 'kafkajs by hand (LevelDB store, changelog)',
  client: 'kafkajs by hand',
  guarantee: 'at-least-once',
  command: (run) => node('raw-app.ts', [run.brokers, run.applicationId, run.input, run.output, run.stateDir]),
};

/** In the order they run. */
export const PEERS: Peer[] = [
  kafkaStreams('at-least-once', 1),
  rawKafkajs,
  rawKafkajsStore,
  eddy('at-least-once'),
  eddy('at-least-once', 'kafkajs', 2),
  eddy('at-least-once', 'platformatic'),
  kafkaStreams('exactly-once', 1),
  eddy('exactly-once'),
  eddy('exactly-once', 'kafkajs', 2),
  eddy('exactly-once', 'platformatic'),
];

/**
 * A ratio written to the results: `of`'s rate over `against`'s (both peers' ids); and, named with `cpu-ratio`,
 * `against`'s CPU time over `of`'s.
 */
export interface Ratio {
  name: string;
  of: string;
  against: string;
}

export const RATIOS: Ratio[] = [
  { name: 'e2e.count.alos.ratio-vs-kafka-streams', of: 'eddy-alos', against: 'kafka-streams-alos' },
  { name: 'e2e.count.eos.ratio-vs-kafka-streams', of: 'eddy-eos', against: 'kafka-streams-eos' },
  { name: 'e2e.count.alos.ratio-vs-raw-same-client', of: 'eddy-alos', against: 'raw-kafkajs' },
  // The same with the baseline doing the state work Eddy's count does: what the library costs beyond it.
  {
    name: 'e2e.count.alos.ratio-vs-raw-with-store-same-client',
    of: 'eddy-alos',
    against: 'raw-kafkajs-store',
  },
  {
    name: 'e2e.count.alos.platformatic.ratio-vs-kafkajs',
    of: 'eddy-alos-platformatic',
    against: 'eddy-alos',
  },
  { name: 'e2e.count.eos.platformatic.ratio-vs-kafkajs', of: 'eddy-eos-platformatic', against: 'eddy-eos' },
  // Goal (benchmarks/README.md, Figures): ≥ 1.6 for at-least-once.
  { name: 'e2e.count.threads-2.ratio-vs-threads-1', of: 'eddy-2-threads-alos', against: 'eddy-alos' },
  { name: 'e2e.count.eos.threads-2.ratio-vs-threads-1', of: 'eddy-2-threads-eos', against: 'eddy-eos' },
];
