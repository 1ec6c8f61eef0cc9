// A broker of the three-node cluster fails mid-stream under a rekey-and-count app: first stopped cleanly and restarted,
// then SIGKILLed and restarted. The victim is the app's group coordinator, which also leads partitions of the
// offsets topic; the app's producers and consumers move to the new leaders and the counts end exact.
import { describe, expect, it } from 'vitest';
import { coordinator, killNode, partitionLeader, restartNode, stopNode } from '../../kafka/cluster.mjs';
import { appProcesses } from '../../support/processes.js';
import { PARTITIONS, startFaultRun } from './rekey-under-faults.js';

const apps = appProcesses();

/** The app's group coordinator, and which of its input and changelog partitions that node leads. */
async function victim(applicationId: string, input: string): Promise<{ node: number; leads: string[] }> {
  const node = await coordinator(applicationId);
  const leads: string[] = [];
  for (const topic of [input, `${applicationId}-customer-counts-changelog`]) {
    for (let p = 0; p < PARTITIONS; p++)
      if ((await partitionLeader(topic, p)) === node) leads.push(`${topic}-${p}`);
  }
  return { node, leads };
}

describe.each(['at-least-once', 'exactly-once'] as const)('a broker failing mid-stream (%s)', (guarantee) => {
  it('counts every order exactly across a clean stop and a SIGKILL of the group coordinator, each restarted', async () => {
    const run = await startFaultRun(apps, guarantee, 'failover');
    await run.progress(500, 'before any fault');

    const stopped = await victim(run.applicationId, run.input);
    const t0 = Date.now();
    await stopNode(stopped.node);
    await run.progress(500, `with node ${stopped.node} stopped`);
    const t1 = Date.now();
    await restartNode(stopped.node);
    await run.progress(500, `after node ${stopped.node} restarted`);

    const killed = await victim(run.applicationId, run.input);
    const t2 = Date.now();
    await killNode(killed.node);
    await run.progress(500, `with node ${killed.node} killed`);
    const t3 = Date.now();
    await restartNode(killed.node);
    await run.progress(500, `after node ${killed.node} restarted`);

    process.stderr.write(
      `[faults] ${guarantee}: stopped node ${stopped.node} (leading ${stopped.leads.join(', ') || 'no input or changelog partition'}), ` +
        `500 orders counted ${t1 - t0} ms later; killed node ${killed.node} (leading ${killed.leads.join(', ') || 'none'}), ` +
        `500 orders counted ${t3 - t2} ms later; ${run.produced()} orders sent\n`,
    );
    await run.finish();
    expect(run.produced()).toBeGreaterThan(2_500);
  }, 420_000);
});
