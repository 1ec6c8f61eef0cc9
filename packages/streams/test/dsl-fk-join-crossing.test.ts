// A foreign-key join whose messages cross: a right change's answer reaches the left row after the row changed,
// while the row's new subscription reached the right side after the change. Run task by task, in that order.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { Serdes, StreamsBuilder } from '../src/index.js';
import type { OutgoingRecord } from '../src/kafka/port.js';
import { createTask } from '../src/runtime/create-task.js';
import { DRAIN_ONLY, RecordCollector } from '../src/runtime/record-collector.js';
import type { StreamTask } from '../src/runtime/stream-task.js';
import { TaskId } from '../src/runtime/task-id.js';
import { createTaskState, type TaskState } from '../src/runtime/task-state.js';

const str = Serdes.string();
const orderSerde = Serdes.json<{ item: string; customer: string }>();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

/** The join's tasks, one per subtopology; records written to internal topics are handed on only when asked. */
async function tasksOf() {
  const b = new StreamsBuilder();
  const orders = b.table('orders', { keySerde: str, valueSerde: orderSerde }, { caching: false });
  const customers = b.table('customers', { keySerde: str, valueSerde: str }, { caching: false });
  orders
    .join(
      customers,
      (o) => o.customer,
      (o, c) => `${o.item}/${c}`,
      {
        materialized: { valueSerde: str, caching: false },
      },
    )
    .toStream()
    .to('out', { keySerde: str, valueSerde: str });
  const graph = b.build().seal('app');
  const stateDir = mkdtempSync(join(tmpdir(), 'eddy-fk-crossing-'));
  const config = {
    applicationId: 'app',
    stateDir,
    deserializationErrors: 'fail' as const,
    processingErrors: 'fail' as const,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
  };
  const collector = new RecordCollector(DRAIN_ONLY);
  const dropped = new Map<string, number>();
  const tasks: StreamTask[] = [];
  const states: TaskState[] = [];
  for (const sub of graph.subtopologies) {
    const id = TaskId.of(sub.id, 0);
    const state = createTaskState(config, graph, id);
    if (state !== undefined) states.push(state);
    const task = createTask({
      id,
      graph,
      config,
      collector,
      state,
      clock: () => 0,
      onDropped: (reason) => dropped.set(reason, (dropped.get(reason) ?? 0) + 1),
    });
    // Every input is caught up: each record is processed as it is handed over.
    for (const topic of sub.sourceTopics) task.addRecords(topic, [], 0n, -1n);
    tasks.push(task);
  }
  await Promise.all(states.map((s) => s.state.open()));
  cleanups.push(async () => {
    for (const t of tasks) t.close();
    for (const s of states) await s.state.close();
    rmSync(stateDir, { recursive: true, force: true });
  });
  let offset = 0;
  const output: [string, string | null][] = [];
  /** Processes one record; returns what it wrote to internal topics (output topic records are kept aside). */
  const step = (r: { topic: string; key: Buffer | null; value: Buffer | null }): OutgoingRecord[] => {
    const task = tasks[graph.subtopologyOfTopic.get(r.topic)!]!;
    task.addRecords(
      r.topic,
      [{ offset: String(offset++), key: r.key, value: r.value, timestamp: offset, headers: {} }],
      BigInt(offset),
    );
    task.process();
    task.flush();
    const internal: OutgoingRecord[] = [];
    for (const o of collector.drain()) {
      if (graph.subtopologyOfTopic.has(o.topic)) internal.push(o);
      else output.push([o.key!.toString(), o.value?.toString() ?? null]);
    }
    return internal;
  };
  /** Processes records and everything they lead to. */
  const settle = (records: OutgoingRecord[]): void => {
    for (const r of records) settle(step(r));
  };
  const input = (topic: string, key: string, value: Buffer | null) =>
    step({ topic, key: Buffer.from(key), value });
  return { input, step, settle, output, dropped };
}

it('an answer that crossed a change of its left row is dropped, and the answer to the change sets the result', async () => {
  const t = await tasksOf();
  t.settle(t.input('customers', 'c1', Buffer.from('Alice')));
  t.settle(t.input('orders', 'o7', Buffer.from(JSON.stringify({ item: 'apple', customer: 'c1' }))));
  expect(t.output.splice(0)).toEqual([['o7', 'apple/Alice']]);

  // c1 is deleted: its answer to o7 (for the value 'apple') is on its way back ...
  const crossing = t.input('customers', 'c1', null);
  expect(crossing).toHaveLength(1);
  // ... when o7 changes its value but not its foreign key; its subscription reaches c1 after the delete.
  t.settle(t.input('orders', 'o7', Buffer.from(JSON.stringify({ item: 'pear', customer: 'c1' }))));
  t.settle(crossing);
  expect(t.dropped.get('stale-fk-response')).toBe(1);
  expect(t.output).toEqual([['o7', null]]);
});
