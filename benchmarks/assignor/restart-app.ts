// The process restart.ts starts and stops: word count as a static member; prints its start-up timeline as one JSON line.
// Usage: restart-app.ts <applicationId> <input> <output> <stateDir> <instanceId>; stop it with SIGTERM.
import { StreamsApp } from '@eddy/streams';
import { wordCountTopology } from '../../examples/word-count/topology.js';

// Static imports are evaluated before this line: from here on the modules are loaded.
const loaded = Date.now();
const [applicationId, input, output, stateDir, instanceId] = process.argv.slice(2);
if (!applicationId || !input || !output || !stateDir || !instanceId) {
  throw new Error('usage: restart-app.ts <applicationId> <input> <output> <stateDir> <instanceId>');
}

/** Wall-clock times (ms since the epoch) of the start-up steps, and what the restore read. */
export interface RestartTimeline {
  processStart: number;
  loaded: number;
  started?: number;
  running?: number;
  restoreStart?: number;
  restoreEnd?: number;
  firstProcessed?: number;
  restored: number;
  restoreBatches: number;
}

const timeline: RestartTimeline = {
  processStart: performance.timeOrigin,
  loaded,
  restored: 0,
  restoreBatches: 0,
};
const app = new StreamsApp(wordCountTopology(input, output), {
  applicationId,
  brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:39092').split(','),
  stateDir,
  instanceId,
  sessionTimeoutMs: 30_000,
  logger: { debug() {}, info() {}, warn() {}, error: (m) => process.stderr.write(`${m}\n`) },
  restoreListener: {
    onRestoreStart: () => {
      timeline.restoreStart ??= Date.now();
    },
    onBatchRestored: (_, __, records) => {
      timeline.restored += records;
      timeline.restoreBatches++;
    },
    onRestoreEnd: (_, total) => {
      timeline.restoreEnd = Date.now();
      timeline.restored = total;
    },
  },
});
app.onStateChange((next) => {
  if (next === 'RUNNING') timeline.running ??= Date.now();
});
app.closeOnSignals();

// The runtime counts processed records per fetched batch; a 1 ms poll adds at most that much. The line goes out
// once start() has resolved too, so that it holds every step.
const poll = setInterval(() => {
  if (timeline.firstProcessed === undefined && app.metrics.processed > 0)
    timeline.firstProcessed = Date.now();
  if (timeline.firstProcessed === undefined || timeline.started === undefined) return;
  clearInterval(poll);
  process.stdout.write(`${JSON.stringify(timeline)}\n`);
}, 1);

await app.start();
timeline.started = Date.now();
