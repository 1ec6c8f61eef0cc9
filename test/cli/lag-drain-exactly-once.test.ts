// `eddy lag` and `eddy drain` on an exactly-once app: its input and repartition partitions end in transaction
// commit markers, which Eddy commits past; a group whose committer stopped at the last record (as other clients do)
// is behind by markers only, and such a gap must count as caught up.
import { StreamsApp } from '@eddy/streams';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { repartitionCountTopology } from '../support/apps/repartition-count.js';
import { drainArgs, eddyJson, startEddy } from '../support/cli.js';
import { inProcessApps } from '../support/in-process.js';
import { brokerList, createTopics, testKafka, uniqueName, waitFor, withAdmin } from '../support/kafka.js';

const apps = inProcessApps();

interface LagReport {
  partitions: { topic: string; partition: number; committed?: string; end: string; lag: string }[];
  total: string;
}

/** Writes `messages` to `topic` in one committed transaction: the partitions end in a commit marker. */
async function produceInTransaction(
  topic: string,
  messages: { key: string; value: string; partition: number }[],
): Promise<void> {
  const producer = testKafka().producer({
    transactionalId: uniqueName('cli-eos-upstream'),
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  try {
    const txn = await producer.transaction();
    await txn.send({ topic, messages });
    await txn.commit();
  } finally {
    await producer.disconnect();
  }
}

describe('eddy lag and eddy drain under exactly-once', () => {
  it('drains an exactly-once app that repartitions, and shows lag 0 where only commit markers are left', async () => {
    const input = uniqueName('cli-eos-orders');
    const output = uniqueName('cli-eos-counts');
    const applicationId = uniqueName('cli-eos');
    await createTopics([
      { topic: input, numPartitions: 2 },
      { topic: output, numPartitions: 2 },
    ]);
    const orders = Array.from({ length: 12 }, (_, i) => ({
      key: `o${i}`,
      value: `c${i % 5}`,
      partition: i % 2,
    }));
    await produceInTransaction(input, orders);

    const drain = startEddy(drainArgs(applicationId, input, 45_000));
    const app = apps.track(
      new StreamsApp(repartitionCountTopology(input, output), {
        applicationId,
        brokers: brokerList(),
        stateDir: apps.stateDir(),
        processingGuarantee: 'exactly-once',
        commitIntervalMs: 100,
        clientLogLevel: 'nothing',
        metrics: { registry: new Registry() },
      }),
    );
    await app.start();
    const drained = await drain.done;
    expect(drained.stderr).toBe('');
    expect(drained.code).toBe(0);

    // The drain ends at lag 0, which a gap of commit markers alone already is; the app moves its committed offsets
    // past those markers at a commit of its own, which may come just after.
    let lag!: LagReport;
    await waitFor(
      async () => {
        lag = await eddyJson<LagReport>(['lag', '--application-id', applicationId]);
        return lag.partitions.every((p) => (p.committed ?? '0') === p.end);
      },
      { timeoutMs: 30_000, what: "the app's committed offsets to reach the end offsets" },
    );
    expect(lag.total).toBe('0');
    const repartition = lag.partitions.filter((p) => p.topic !== input);
    expect(repartition.length).toBeGreaterThan(0);
    // Committed past the last transaction's commit marker: every partition's committed offset is its end.
    for (const p of lag.partitions) {
      expect(p.committed ?? '0', `${p.topic}:${p.partition}`).toBe(p.end);
      expect(p.lag).toBe('0');
    }

    // Six records per input partition (offsets 0-5), their commit marker at 6: a group that committed 6 is behind
    // the end (7) by the marker alone.
    const behind = uniqueName('cli-eos-behind');
    await withAdmin((a) =>
      a.setOffsets({
        groupId: behind,
        topic: input,
        partitions: [0, 1].map((partition) => ({ partition, offset: '6' })),
      }),
    );
    const markersOnly = await eddyJson<LagReport>(['lag', '--application-id', behind]);
    expect(markersOnly.partitions.map((p) => [p.partition, p.committed, p.end, p.lag])).toEqual([
      [0, '6', '7', '0'],
      [1, '6', '7', '0'],
    ]);
    expect(markersOnly.total).toBe('0');
    const drainedBehind = await startEddy(drainArgs(behind, input, 45_000)).done;
    expect(drainedBehind.stderr).toBe('');
    expect(drainedBehind.code).toBe(0);
  });
});
