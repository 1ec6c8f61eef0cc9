// A rolling update on the real broker and registry: three pods of v1 of an Avro topology with a store count a
// steady stream; they are replaced one by one by v2, whose event and count schemas add a field with a default. In
// the mix each version reads the other's repartition records and restores the other's store records; the final
// counts are exact. Then v3, whose store schema drops a field without default, is refused by the schema gate before
// it joins the group, and the v2 pods go on undisturbed.
import { AvroSerdes } from '@eddy/avro';
import { describe, expect, it } from 'vitest';
import type { Count } from '../support/avro-count.js';
import { brokerList, createTopics, uniqueName, waitFor, withAdmin } from '../support/kafka.js';
import { type AppProcess, appProcesses } from '../support/processes.js';
import { steadyInput } from '../support/steady-input.js';
import { readRaw, registryClient, registryUrl } from './support.js';

const apps = appProcesses();
const PARTITIONS = 6;

const assignedCount = (pod: AppProcess) =>
  pod
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{"event":"assigned"')).length;
const sumHigh = async (topic: string) =>
  (await withAdmin((a) => a.fetchTopicOffsets(topic))).reduce((n, o) => n + Number(o.high), 0);

describe('a rolling update of an Avro app', () => {
  it('v1 → v2 keeps exact counts with both versions side by side; an incompatible v3 is refused before joining', async () => {
    const input = uniqueName('words');
    const output = uniqueName('counts');
    const applicationId = uniqueName('rolling');
    await createTopics([
      { topic: input, numPartitions: PARTITIONS },
      { topic: output, numPartitions: PARTITIONS },
    ]);
    const steady = await steadyInput(input, { keys: 53, perSend: 30 });
    const dirs = [0, 1, 2].map(() => apps.stateDir());
    const start = (ordinal: number, version: number) =>
      apps.start('test/support/apps/avro-count.ts', [input, output], {
        KAFKA_BROKERS: brokerList().join(','),
        SCHEMA_REGISTRY_URL: registryUrl(),
        APPLICATION_ID: applicationId,
        STATE_DIR: dirs[ordinal] ?? apps.stateDir(),
        AVRO_VERSION: String(version),
        COMMIT_INTERVAL_MS: '300',
        SESSION_TIMEOUT_MS: '10000',
      });
    const outputGrows = async (by: number, what: string) => {
      process.stderr.write(`[rolling-update] waiting for ${what}\n`);
      const at = await sumHigh(output);
      await waitFor(async () => (await sumHigh(output)) >= at + by, { timeoutMs: 60_000, what });
    };
    try {
      // v1 pods start one after the other so that the first registers the schemas alone.
      const pods: AppProcess[] = [];
      for (const ordinal of [0, 1, 2]) {
        const pod = start(ordinal, 1);
        pods.push(pod);
        await waitFor(() => assignedCount(pod) > 0, { timeoutMs: 60_000, what: `v1 pod ${ordinal} to join` });
      }
      await outputGrows(300, 'the v1 pods to count');
      for (const ordinal of [0, 1, 2]) {
        pods[ordinal]!.child.kill('SIGTERM');
        expect(await pods[ordinal]!.exited, pods[ordinal]!.output()).toBe(0);
        const v2 = start(ordinal, 2);
        pods[ordinal] = v2;
        await waitFor(() => assignedCount(v2) > 0, { timeoutMs: 60_000, what: `v2 pod ${ordinal} to join` });
        await outputGrows(300, `the pods to count with v2 pod ${ordinal} among them`);
      }
      // v3 is refused by the gate: it never joins, so the v2 pods see no new assignment.
      const seen = pods.map(assignedCount);
      const v3 = start(3, 3);
      expect(await v3.exited).not.toBe(0);
      expect(v3.output()).toContain('SERDE_PREPARE_FAILED');
      expect(v3.output()).toMatch(
        /counts-changelog-value: the new schema is not FULL-compatible with version\(s\) 2/,
      );
      expect(v3.output()).toContain("eddy.test.Count.count: not in the writer's schema and no default");
      expect(assignedCount(v3)).toBe(0);
      await outputGrows(300, 'the v2 pods to go on counting');
      expect(pods.map(assignedCount)).toEqual(seen);

      await steady.stop();
      const inputEnd = await sumHigh(input);
      await waitFor(
        async () => {
          const [c] = await withAdmin((a) => a.fetchOffsets({ groupId: applicationId, topics: [input] }));
          return c!.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0) === inputEnd;
        },
        { timeoutMs: 60_000, what: 'the pods to commit all input' },
      );
      await waitFor(
        async () => {
          const [c] = await withAdmin((a) =>
            a.fetchOffsets({ groupId: applicationId, topics: [`${applicationId}-events-repartition`] }),
          );
          const ends = await sumHigh(`${applicationId}-events-repartition`);
          return c!.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0) === ends;
        },
        { timeoutMs: 60_000, what: 'the pods to commit all repartitioned events' },
      );
      for (const pod of pods) expect(pod.output()).not.toContain('stopped:');

      const registry = registryClient();
      const reader = AvroSerdes.generic({ registry, schema: { type: 'string' } });
      const records = await readRaw(output, await sumHigh(output));
      const latest = new Map<string, Count>();
      const ids = new Set<number>();
      for (const r of records) {
        ids.add(r.value!.readUInt32BE(1));
        latest.set(r.key!, reader.deserialize(r.value!) as Count);
      }
      expect(new Map([...latest].map(([k, v]) => [k, Number(v.count)]))).toEqual(steady.sent);
      // Both versions wrote output: v1 records without `by`, v2 records with it.
      expect(ids.size).toBe(2);
      expect([...latest.values()].every((v) => v.by === 'v2')).toBe(true);
      registry.close();
    } finally {
      await steady.stop().catch(() => undefined);
    }
  }, 420_000);
});
