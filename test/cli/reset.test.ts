// `eddy reset` as a process against the broker: refused while the group has a member; then input offsets moved,
// the app's internal topics deleted (not those of an app whose id extends it), and its local state wiped.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { committedOffsets, eddy, eddyJson, errorOf } from '../support/cli.js';
import { createTopics, testKafka, uniqueName, waitFor, withAdmin } from '../support/kafka.js';
import { appProcesses } from '../support/processes.js';

const processes = appProcesses();

interface ResetReport {
  dryRun: boolean;
  to: string;
  offsets: { topic: string; partition: number; from: string | null; to: string }[];
  deletedTopics: string[];
  wipedState: string | null;
  reminder?: string;
}

describe('eddy reset', () => {
  it('refuses while the group has members, then resets offsets, internal topics and local state', async () => {
    const applicationId = uniqueName('cli-reset');
    const input = uniqueName('cli-reset-in');
    const changelog = `${applicationId}-counts-changelog`;
    const repartition = `${applicationId}-by-key-repartition`;
    // Another application whose id starts with this one's: its topics are not this app's.
    const other = `${applicationId}-v2`;
    const othersChangelog = `${other}-counts-changelog`;
    await createTopics([
      { topic: input, numPartitions: 2 },
      { topic: changelog, numPartitions: 2 },
      { topic: repartition, numPartitions: 2 },
      { topic: othersChangelog, numPartitions: 1 },
    ]);
    const producer = testKafka().producer();
    await producer.connect();
    // Records at t+1000, t+2000, t+3000 (partition 0) and t+1500, t+2500 (partition 1); recent, as retention
    // deletes old ones.
    const t = Math.floor(Date.now() / 1000) * 1000 - 60_000;
    const at = (ms: number) => String(t + ms);
    await producer.send({
      topic: input,
      messages: [
        { partition: 0, value: 'a', timestamp: at(1000) },
        { partition: 0, value: 'b', timestamp: at(2000) },
        { partition: 0, value: 'c', timestamp: at(3000) },
        { partition: 1, value: 'd', timestamp: at(1500) },
        { partition: 1, value: 'e', timestamp: at(2500) },
      ],
    });
    await producer.disconnect();
    await withAdmin(async (admin) => {
      await admin.setOffsets({ groupId: other, topic: input, partitions: [{ partition: 0, offset: '1' }] });
      // The app has committed its input and its repartition topic.
      await admin.setOffsets({
        groupId: applicationId,
        topic: repartition,
        partitions: [{ partition: 0, offset: '0' }],
      });
    });

    // A member in the group: a consumer of the app's group that keeps running.
    const consumer = testKafka().consumer({ groupId: applicationId, sessionTimeout: 10_000 });
    await consumer.connect();
    await consumer.subscribe({ topic: input, fromBeginning: true });
    let consumed = 0;
    await consumer.run({
      eachMessage: async () => {
        consumed++;
      },
    });
    await waitFor(() => consumed === 5, { what: 'the member to consume the input' });
    await waitFor(async () => (await committedOffsets(applicationId, input)).join() === '3,2', {
      what: 'the member to commit',
    });

    const refused = await eddy(['reset', '--application-id', applicationId, '--json']);
    expect(refused.code).toBe(1);
    const error = errorOf(refused.stderr);
    expect(error.code).toBe('GROUP_NOT_EMPTY');
    expect(error.message).toContain('has 1 member(s)');
    expect(await committedOffsets(applicationId, input)).toEqual(['3', '2']);
    const present = await withAdmin((admin) => admin.listTopics());
    expect(present).toEqual(expect.arrayContaining([changelog, repartition]));

    await consumer.disconnect();

    // A dry run names what would change and changes nothing.
    const dry = await eddyJson<ResetReport>(['reset', '--application-id', applicationId, '--dry-run']);
    expect(dry.dryRun).toBe(true);
    expect(dry.deletedTopics).toEqual([repartition, changelog].sort());
    expect(dry.reminder).toContain('--wipe-state');
    expect(await committedOffsets(applicationId, input)).toEqual(['3', '2']);

    const stateDir = processes.stateDir();
    const appState = join(stateDir, applicationId);
    mkdirSync(join(appState, '1_0'), { recursive: true });
    writeFileSync(join(appState, '1_0', 'data'), 'x');
    mkdirSync(join(stateDir, other));

    const report = await eddyJson<ResetReport>([
      'reset',
      '--application-id',
      applicationId,
      '--to-timestamp',
      new Date(t + 2000).toISOString(),
      '--wipe-state',
      stateDir,
    ]);
    expect(report.to).toBe(`timestamp ${new Date(t + 2000).toISOString()}`);
    expect(report.offsets).toEqual([
      { topic: input, partition: 0, from: '3', to: '1' },
      { topic: input, partition: 1, from: '2', to: '1' },
    ]);
    expect(report.deletedTopics).toEqual([repartition, changelog].sort());
    expect(report.wipedState).toBe(appState);
    expect(await committedOffsets(applicationId, input)).toEqual(['1', '1']);
    await waitFor(
      async () => {
        const topics = await withAdmin((admin) => admin.listTopics());
        return (
          !topics.includes(changelog) && !topics.includes(repartition) && topics.includes(othersChangelog)
        );
      },
      { what: "the app's internal topics to be gone, the other app's to stay" },
    );
    expect(existsSync(appState)).toBe(false);
    expect(existsSync(join(stateDir, other))).toBe(true);

    // To the end, as text: the input is skipped.
    const latest = await eddy([
      'reset',
      '--application-id',
      applicationId,
      '--input-topics',
      input,
      '--to-latest',
    ]);
    expect(latest.code).toBe(0);
    expect(latest.stdout).toContain('Moved input offsets');
    expect(latest.stdout).toContain('Delete the local state');
    expect(await committedOffsets(applicationId, input)).toEqual(['3', '2']);
  });

  it('rejects contradicting targets and an unknown input topic', async () => {
    const both = await eddy(['reset', '--application-id', 'x', '--to-earliest', '--to-latest', '--json']);
    expect(both.code).toBe(2);
    expect(errorOf(both.stderr)).toEqual({
      code: 'INVALID_ARGUMENT',
      message: 'choose one of --to-earliest, --to-latest and --to-timestamp',
    });
    const missing = await eddy([
      'reset',
      '--application-id',
      uniqueName('cli-reset-none'),
      '--input-topics',
      uniqueName('no-such-topic'),
      '--json',
    ]);
    expect(missing.code).toBe(1);
    expect(errorOf(missing.stderr).code).toBe('TOPIC_NOT_FOUND');
  });
});
