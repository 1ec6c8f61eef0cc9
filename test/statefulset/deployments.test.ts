// Two ways to deploy a new version besides the rolling update (test/avro/rolling-update.test.ts), run with the
// eddy CLI as an operator would: a full stop (drain, stop every pod, start the new version on the same volumes) and
// blue/green (a second application takes over from the first's committed offsets; rolling back restarts the first).
// Counts stay exact in both: nothing is lost or counted twice.
import { describe, expect, it } from 'vitest';
import { committedOffsets, drainArgs, eddy } from '../support/cli.js';
import { createTopics, uniqueName, waitFor, withAdmin } from '../support/kafka.js';
import { type AppProcess, appProcesses } from '../support/processes.js';
import { type SteadyInput, steadyInput } from '../support/steady-input.js';
import { expectExactCounts, restores, statefulSet, TASKS } from './harness.js';

const apps = appProcesses();

const sumHigh = async (topic: string) =>
  (await withAdmin((a) => a.fetchTopicOffsets(topic))).reduce((n, o) => n + Number(o.high), 0);

const plus = (a: Map<string, number>, b: Map<string, number>) =>
  new Map([...new Set([...a.keys(), ...b.keys()])].map((k) => [k, (a.get(k) ?? 0) + (b.get(k) ?? 0)]));

/** `eddy drain` as a process: it must end with 0 once the group has committed all of `input`. */
async function drain(applicationId: string, input: string): Promise<void> {
  const r = await eddy(drainArgs(applicationId, input, 60_000));
  expect(r.code, r.stderr).toBe(0);
  expect(JSON.parse(r.stdout)).toMatchObject({ applicationId, drained: true });
}

/** SIGTERM to every pod; each must shut down cleanly. */
async function stopAll(pods: AppProcess[]): Promise<void> {
  for (const pod of pods) pod.child.kill('SIGTERM');
  for (const pod of pods) expect(await pod.exited, pod.output()).toBe(0);
}

/** Waits until `topic` holds `by` more records than now. */
async function grows(topic: string, by: number, what: string): Promise<void> {
  const at = await sumHigh(topic);
  await waitFor(async () => (await sumHigh(topic)) >= at + by, { what });
}

describe('deployment patterns', () => {
  it('full stop: drain, stop v1, start v2 on the same volumes and group; counts stay exact', async () => {
    const sts = await statefulSet(apps);
    let after: SteadyInput | undefined;
    try {
      // The producer pauses; the pods drain what was produced, then stop.
      await sts.stop();
      await drain(sts.applicationId, sts.input);
      const outputAtStop = await sumHigh(sts.output);
      const stoppedAt = Date.now();
      await stopAll(sts.pods);
      const startedAt = Date.now();
      // v2: new processes on the same volumes under the same pod names and group; new input follows.
      const v2 = sts.pods.map((_, ordinal) => sts.start(ordinal));
      after = await steadyInput(sts.input);
      const v2Input = after;
      await waitFor(async () => (await sumHigh(sts.output)) > outputAtStop, {
        intervalMs: 50,
        what: "v2's first output record",
      });
      const firstAt = Date.now();
      const seconds = (from: number) => ((firstAt - from) / 1000).toFixed(1);
      console.log(
        `[deployments] full stop: ${seconds(stoppedAt)} s from the v1 stop (SIGTERM) to v2's first output record (${seconds(startedAt)} s of it from v2's start)`,
      );
      await grows(sts.output, 300, 'v2 to count 300 records');
      await expectExactCounts({
        ...sts,
        pods: v2,
        expected: () => plus(sts.expected(), v2Input.sent),
        stop: () => v2Input.stop(),
      });
      // A clean stop left a checkpoint for every store: v2 restored nothing.
      for (const pod of v2) expect(restores(pod)).toEqual([]);
    } finally {
      await sts.stop().catch(() => undefined);
      await after?.stop().catch(() => undefined);
    }
  }, 180_000);

  it('blue/green: green takes over from blue’s offsets and counts only later input; roll-back to blue loses nothing', async () => {
    const blue = await statefulSet(apps);
    const green = uniqueName('sts-green');
    const greenOutput = uniqueName('green-counts');
    await createTopics([{ topic: greenOutput, numPartitions: TASKS }]);
    let during: SteadyInput | undefined;
    try {
      // Blue pauses: the producer stops, blue drains and its pods stop.
      await blue.stop();
      await drain(blue.applicationId, blue.input);
      await stopAll(blue.pods);
      const blueOutputAtCut = await sumHigh(blue.output);

      // The cut-over: green's group gets blue's committed offsets.
      const copy = await eddy(['offsets', 'copy', '--from-group', blue.applicationId, '--to-group', green]);
      expect(copy.code, copy.stderr).toBe(0);
      const cut = await committedOffsets(blue.applicationId, blue.input);
      expect(await committedOffsets(green, blue.input)).toEqual(cut);

      // Green: its own application id, state directories and output topic; the input goes on.
      const greenPods = [0, 1, 2].map((ordinal) =>
        blue.start(ordinal, apps.stateDir(), { APPLICATION_ID: green }, greenOutput),
      );
      during = await steadyInput(blue.input);
      const greenInput = during;
      await grows(greenOutput, 300, 'green to count 300 records');
      // Green's counts are those of the input after the cut-over alone: its state started empty and it read
      // nothing before blue's offsets.
      await expectExactCounts({
        ...blue,
        pods: greenPods,
        applicationId: green,
        output: greenOutput,
        expected: () => greenInput.sent,
        stop: () => greenInput.stop(),
      });
      expect(await sumHigh(blue.output)).toBe(blueOutputAtCut);

      // Roll-back: green stops, blue restarts from its own committed offsets (still those of the cut-over) and
      // its volumes, and counts what was produced while green ran.
      await stopAll(greenPods);
      expect(await committedOffsets(blue.applicationId, blue.input)).toEqual(cut);
      const back = blue.pods.map((_, ordinal) => blue.start(ordinal));
      await expectExactCounts({
        ...blue,
        pods: back,
        expected: () => plus(blue.expected(), greenInput.sent),
      });
      expect(await sumHigh(blue.output)).toBeGreaterThan(blueOutputAtCut);
    } finally {
      await blue.stop().catch(() => undefined);
      await during?.stop().catch(() => undefined);
    }
  }, 180_000);
});
