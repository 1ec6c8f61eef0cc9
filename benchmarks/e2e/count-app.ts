// The count app of `e2e/run.ts` alone in a process of its own, for its peak resident memory: runs the word count over
// the input until it has processed every record, closes (committing), and prints its VmHWM in MB as JSON.
// Arguments: brokers (comma-separated), application id, input topic, output topic, guarantee, records.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StreamsApp } from '@eddy/streams';
import { wordCountTopology } from '../../examples/word-count/topology.js';

const [brokers, applicationId, input, output, guarantee, records] = process.argv.slice(2);
if (records === undefined || (guarantee !== 'at-least-once' && guarantee !== 'exactly-once')) {
  throw new Error('usage: count-app.ts <brokers> <applicationId> <input> <output> <guarantee> <records>');
}
const stateDir = mkdtempSync(join(tmpdir(), 'eddy-bench-rss-'));
const app = new StreamsApp(wordCountTopology(input!, output!), {
  applicationId: applicationId!,
  brokers: brokers!.split(','),
  stateDir,
  processingGuarantee: guarantee,
  logger: { debug() {}, info() {}, warn() {}, error: (m) => process.stderr.write(`${m}\n`) },
});
try {
  await app.start();
  while (app.metrics.processed < Number(records)) {
    if (app.state !== 'RUNNING' && app.state !== 'REBALANCING') {
      throw new Error(`the app is ${app.state}: ${app.error?.message}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await app.close();
  const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  if (kb === undefined) throw new Error('no VmHWM in /proc/self/status');
  process.stdout.write(`${JSON.stringify({ peakRssMb: Math.round(Number(kb) / 1024) })}\n`);
} finally {
  await app.close();
  rmSync(stateDir, { recursive: true, force: true });
}
