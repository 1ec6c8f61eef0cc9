// The group coordinator's broker is SIGKILLed while the group rebalances: a second instance of a rekey-and-count
// app joins under steady input, the test kills the coordinator once the group is preparing or completing the
// rebalance, and the counts end exact.
import { describe, expect, it } from 'vitest';
import { coordinator, killNode, restartNode } from '../../kafka/cluster.mjs';
import { waitFor, withAdmin } from '../../support/kafka.js';
import { appProcesses } from '../../support/processes.js';
import { startFaultRun } from './rekey-under-faults.js';

const apps = appProcesses();
const REBALANCING = new Set(['PreparingRebalance', 'CompletingRebalance']);

describe.each(['at-least-once', 'exactly-once'] as const)(
  'the coordinator lost in a rebalance (%s)',
  (guarantee) => {
    it('counts every order exactly when the coordinator is killed while a second instance joins', async () => {
      // With `retryBackoff: false` the app stops with BROKER_UNREACHABLE here: kafkajs's consumer fails for good when
      // the connection to the coordinator closes during the join; the default retry reconnects in-process.
      const run = await startFaultRun(apps, guarantee, 'coord');
      await run.progress(300, 'by the first instance');
      const node = await coordinator(run.applicationId);

      const t0 = Date.now();
      const second = run.startApp();
      const seen = await withAdmin((admin) =>
        waitFor(
          async () => {
            const { groups } = await admin.describeGroups([run.applicationId]);
            const state = groups[0]?.state;
            return state !== undefined && REBALANCING.has(state) ? state : undefined;
          },
          { intervalMs: 20, timeoutMs: 60_000, what: 'the group to rebalance for the second instance' },
        ),
      );
      await killNode(node);
      const t1 = Date.now();
      await run.progress(300, `with the coordinator (node ${node}) killed`);
      const t2 = Date.now();
      await restartNode(node);
      await run.progress(300, `after node ${node} restarted`);
      // The second instance took part: it was assigned tasks.
      await waitFor(() => /"event":"assigned","tasks":\["/.test(second.app.output()), {
        what: 'the second instance to be assigned a task',
      });
      process.stderr.write(
        `[faults] ${guarantee}: killed coordinator node ${node} in ${seen} ${t1 - t0} ms after the second instance ` +
          `started; 300 orders counted ${t2 - t1} ms later; ${run.produced()} orders sent\n`,
      );
      await run.finish();
      expect(run.produced()).toBeGreaterThan(1_000);
    }, 420_000);
  },
);
