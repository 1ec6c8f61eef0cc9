// Exactly-once: a task whose transactional producer is fenced by a newer producer of its id is a task migration, not
// a fatal error: the task is closed without committing, the instance rejoins, and every input has one output.
import { Serdes, StreamsApp, type StreamsError, Topology } from '@eddy/streams';
import { describe, expect, it } from 'vitest';
import { inProcessApps } from '../support/in-process.js';
import { brokerList, createTopics, testKafka, testProducer, uniqueName, waitFor } from '../support/kafka.js';
import { readAll } from '../support/read.js';

const apps = inProcessApps();

describe('exactly-once fencing', () => {
  it('a fenced task is closed and taken again after a rejoin; the app keeps running, output exactly once', async () => {
    const input = uniqueName('in');
    const output = uniqueName('out');
    await createTopics([
      { topic: input, numPartitions: 1 },
      { topic: output, numPartitions: 1 },
    ]);
    const applicationId = uniqueName('eos');
    const topology = new Topology()
      .addSource('in', { topics: [input], keySerde: Serdes.string(), valueSerde: Serdes.string() })
      .addSink('out', { topic: output, keySerde: Serdes.string(), valueSerde: Serdes.string() }, 'in');
    const app = new StreamsApp(topology, {
      applicationId,
      brokers: brokerList(),
      processingGuarantee: 'exactly-once',
      sessionTimeoutMs: 10_000,
      stateDir: apps.stateDir(),
    });
    apps.track(app);
    const errors: StreamsError[] = [];
    app.onError((e) => errors.push(e));
    const assignments: number[] = [];
    app.onAssignment((a) => assignments.push(a.generationId));
    await app.start();

    const producer = testProducer();
    await producer.connect();
    const send = (from: number, count: number) =>
      producer.send({
        topic: input,
        messages: Array.from({ length: count }, (_, i) => ({ key: `k${from + i}`, value: `v${from + i}` })),
      });
    await send(0, 50);
    await readAll(output, 50, { readCommitted: true });

    // Another producer registers the task's transactional id: the app's producer of task 0_0 is fenced.
    const intruder = testKafka().producer({
      transactionalId: `${applicationId}-0_0`,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await intruder.connect();
    // kafkajs registers the transactional id (InitProducerId, which fences) at the first transaction, not at connect.
    await (await intruder.transaction()).abort();
    await send(50, 50);
    await waitFor(() => assignments.length >= 2, {
      timeoutMs: 30_000,
      what: `the app to rejoin the group after the fencing`,
    });
    const out = await readAll(output, 100, { readCommitted: true, settleMs: 2_000 });
    expect(out.map((r) => r.value).sort()).toEqual(Array.from({ length: 100 }, (_, i) => `v${i}`).sort());
    expect(errors).toEqual([]);
    expect(app.state).toBe('RUNNING');
    await intruder.disconnect();
    await producer.disconnect();
  });
});
