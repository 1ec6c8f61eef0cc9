// A rolling update on the real broker and registry: three pods of v1 of an Avro topology with a store count a
// steady stream; they are replaced one by one by v2, whose event and count schemas add a field with a default. In
// the mix each version reads the other's repartition records and restores the other's store records (each pod
// reports the writer schema ids it decoded), tasks move from v1 to v2 pods, and the final counts, in the output and
// in the store's changelog, are exact. Then v3, whose store schema drops a field without default, is refused by the
// schema gate before it joins the group, both while v1 and v2 pods run side by side and once all are v2, and the
// running pods go on undisturbed.
import { AvroSerdes } from '@eddy/avro';
import { changelogTopic } from '@eddy/state';
import { describe, expect, it } from 'vitest';
import type { Count } from '../support/avro-count.js';
import { brokerList, createTopics, uniqueName, waitFor, withAdmin } from '../support/kafka.js';
import { type AppProcess, appProcesses } from '../support/processes.js';
import { steadyInput } from '../support/steady-input.js';
import { readRaw, readToEnd, registryClient, registryUrl } from './support.js';

const apps = appProcesses();
const PARTITIONS = 6;

const assignedCount = (pod: AppProcess) =>
  pod
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{"event":"assigned"')).length;
/** What a pod's lines say: the tasks it was assigned, and `<what> <schema id>` of each writer schema id it decoded. */
function reported(pod: AppProcess): { tasks: Set<string>; decoded: Set<string> } {
  const tasks = new Set<string>();
  const decoded = new Set<string>();
  for (const line of pod.output().split('\n')) {
    if (!line.startsWith('{"event":')) continue;
    const e = JSON.parse(line) as { event: string; tasks?: string[]; what?: string; schemaId?: number };
    if (e.event === 'assigned') for (const t of e.tasks ?? []) tasks.add(String(t));
    if (e.event === 'decoded') decoded.add(`${e.what} ${e.schemaId}`);
  }
  return { tasks, decoded };
}

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
        // Counting tasks then read events from every pod's input tasks, so each version reads the other's.
        EVENT_PARTITIONS: String(PARTITIONS),
        COMMIT_INTERVAL_MS: '300',
        SESSION_TIMEOUT_MS: '10000',
      });
    const outputGrows = async (by: number, what: string) => {
      process.stderr.write(`[rolling-update] waiting for ${what}\n`);
      const at = await sumHigh(output);
      await waitFor(async () => (await sumHigh(output)) >= at + by, { timeoutMs: 60_000, what });
    };
    /**
     * v3 is refused by the gate: it never joins, and the running pods go on counting. With `settled`, the pods see no
     * new assignment either (in the mix, a warm-up of the v2 pod that just joined may still ask for one).
     */
    const refusedV3 = async (running: string, settled: boolean) => {
      const seen = pods.map(assignedCount);
      const v3 = start(3, 3);
      expect(await v3.exited).not.toBe(0);
      expect(v3.output()).toContain('SERDE_PREPARE_FAILED');
      expect(v3.output()).toMatch(
        /counts-changelog-value: the new schema is not FULL-compatible with version\(s\) 2/,
      );
      expect(v3.output()).toContain("eddy.test.Count.count: not in the writer's schema and no default");
      expect(assignedCount(v3)).toBe(0);
      await outputGrows(300, `${running} to go on counting`);
      if (settled) expect(pods.map(assignedCount)).toEqual(seen);
      for (const pod of pods) expect(pod.output()).not.toContain('stopped:');
    };
    const pods: AppProcess[] = [];
    try {
      // v1 pods start one after the other so that the first registers the schemas alone.
      const byVersion = new Map<number, AppProcess[]>([
        [1, []],
        [2, []],
      ]);
      for (const ordinal of [0, 1, 2]) {
        const pod = start(ordinal, 1);
        pods.push(pod);
        byVersion.get(1)!.push(pod);
        await waitFor(() => assignedCount(pod) > 0, { timeoutMs: 60_000, what: `v1 pod ${ordinal} to join` });
      }
      await outputGrows(300, 'the v1 pods to count');
      for (const ordinal of [0, 1, 2]) {
        pods[ordinal]!.child.kill('SIGTERM');
        expect(await pods[ordinal]!.exited, pods[ordinal]!.output()).toBe(0);
        const v2 = start(ordinal, 2);
        pods[ordinal] = v2;
        byVersion.get(2)!.push(v2);
        await waitFor(() => assignedCount(v2) > 0, { timeoutMs: 60_000, what: `v2 pod ${ordinal} to join` });
        await outputGrows(300, `the pods to count with v2 pod ${ordinal} among them`);
        // While v1 and v2 pods run side by side, v3 is refused too, and neither version is disturbed.
        if (ordinal === 0) await refusedV3('the v1 and v2 pods', false);
      }
      // Each version decoded records the other wrote: repartitioned events both ways, and v2 the store records of v1
      // (restored from the changelog of a task that moved to it).
      const registry = registryClient();
      const idsOf = async (subject: string) =>
        Promise.all(
          (await registry.versions(subject)).map(async (v) => (await registry.version(subject, v)).id),
        );
      const [event1, event2] = await idsOf(`${applicationId}-events-repartition-value`);
      const [count1, count2] = await idsOf(`${changelogTopic(applicationId, 'counts')}-value`);
      const union = (version: number) => {
        const all = byVersion.get(version)!.map(reported);
        return {
          tasks: new Set(all.flatMap((r) => [...r.tasks])),
          decoded: new Set(all.flatMap((r) => [...r.decoded])),
        };
      };
      const v1 = union(1);
      const v2 = union(2);
      process.stderr.write(
        `[rolling-update] v1 decoded ${[...v1.decoded].join(', ')}; v2 decoded ${[...v2.decoded].join(', ')}\n`,
      );
      expect(event2).toBeDefined();
      expect(count2).toBeDefined();
      expect(v1.decoded).toContain(`event ${event2}`);
      expect(v2.decoded).toContain(`event ${event1}`);
      expect(v2.decoded).toContain(`count ${count1}`);
      expect([...v1.tasks].filter((t) => v2.tasks.has(t))).not.toEqual([]);

      await refusedV3('the v2 pods', true);

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
      // The store holds the same counts: its changelog's latest record per key is what any instance restores.
      const changelog = changelogTopic(applicationId, 'counts');
      const stored = new Map<string, number>();
      for (const r of await readToEnd(changelog)) {
        stored.set(r.key!, Number((reader.deserialize(r.value!) as Count).count));
      }
      expect(stored).toEqual(steady.sent);
      registry.close();
    } finally {
      await steady.stop().catch(() => undefined);
    }
  }, 420_000);
});
