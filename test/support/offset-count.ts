// The stateful topology of the fault tests and its exact-result check: a logged, persistent store counts records per
// key, and each input record outputs `<count>@<partition>:<offset>` (the count after it, and where it came from), so
// the output shows every input record, any duplicate of it, and whether a replay counted it again.
import { type KeyValueStore, keyValueStore } from '@eddy/state';
import { type ProcessorContext, Serdes, Topology } from '@eddy/streams';
import { expect } from 'vitest';
import { followTopic } from './read.js';
import { readCounts } from './state.js';

export const COUNT_STORE = 'counts';

export function offsetCountTopology(input: string, output: string): Topology {
  const str = { keySerde: Serdes.string(), valueSerde: Serdes.string() };
  return new Topology()
    .addSource('source', { topics: [input], ...str })
    .addProcessor<string, string, string, string>(
      'count',
      () => {
        let ctx: ProcessorContext<string, string>;
        let counts: KeyValueStore<string, number>;
        return {
          init(c) {
            ctx = c;
            counts = c.getStateStore(COUNT_STORE);
          },
          process(record) {
            const n = (counts.get(record.key) ?? 0) + 1;
            counts.put(record.key, n);
            ctx.forward({ ...record, value: `${n}@${ctx.partition}:${ctx.offset}` });
          },
        };
      },
      'source',
    )
    .addStateStore(
      keyValueStore<string, number>({
        name: COUNT_STORE,
        keySerde: Serdes.string(),
        valueSerde: Serdes.float64(),
      }),
      'count',
    )
    .addSink('sink', { topic: output, ...str }, 'count');
}

/** One output record of the topology, by where it sits in the output topic. */
interface Output {
  key: string;
  count: number;
  /** The input record it is for: `<partition>:<offset>`. */
  from: string;
}

export interface OutputFollower {
  /** Output records by `<partition>:<offset>` in the output topic: a record read twice by the follower is one. */
  readonly records: Map<string, Output>;
  /** Per key, the input records the output covers. */
  covered(key: string): number;
  /** The crashes after which kafkajs would not restart the reader, each answered with a new reader. */
  readonly crashes: string[];
  stop(): Promise<void>;
}

/** Reads `topic` from the beginning as it fills (read_committed if asked); survives broker outages (`followTopic`). */
export async function followOutput(topic: string, { readCommitted = false } = {}): Promise<OutputFollower> {
  const records = new Map<string, Output>();
  const inputs = new Map<string, Set<string>>();
  const follower = await followTopic(
    topic,
    ({ partition, offset, key, value }) => {
      const [count, from] = value!.split('@') as [string, string];
      records.set(`${partition}:${offset}`, { key: key!, count: Number(count), from });
      const set = inputs.get(key!) ?? new Set<string>();
      inputs.set(key!, set.add(from));
    },
    { readCommitted },
  );
  return {
    records,
    crashes: follower.crashes,
    covered: (key) => inputs.get(key)?.size ?? 0,
    stop: () => follower.stop(),
  };
}

/** True once the output covers every record `sent` counts. */
export function coversAll(output: OutputFollower, sent: Map<string, number>): boolean {
  return [...sent].every(([key, n]) => output.covered(key) === n);
}

export interface ExactCheck {
  /** Output records beyond one per input record. */
  duplicates: number;
}

/**
 * Checks the output against what was sent: every input record has output (no loss), every copy of one carries the
 * same count (a replay did not count it again), and each key's counts are exactly 1..n. Returns the duplicates.
 */
export function checkExact(output: OutputFollower, sent: Map<string, number>): ExactCheck {
  const byInput = new Map<string, Output[]>();
  for (const o of output.records.values()) {
    const id = `${o.key}|${o.from}`;
    byInput.set(id, [...(byInput.get(id) ?? []), o]);
  }
  const countsPerKey = new Map<string, number[]>();
  const recounted: string[] = [];
  for (const [id, copies] of byInput) {
    if (copies.some((c) => c.count !== copies[0]!.count)) {
      recounted.push(`${id}: ${copies.map((c) => c.count).join(',')}`);
    }
    const key = copies[0]!.key;
    countsPerKey.set(key, [...(countsPerKey.get(key) ?? []), copies[0]!.count]);
  }
  expect(recounted, 'input records counted twice').toEqual([]);
  const wrong: string[] = [];
  for (const [key, n] of sent) {
    const counts = (countsPerKey.get(key) ?? []).sort((a, b) => a - b);
    if (counts.length !== n || counts.some((c, i) => c !== i + 1)) {
      wrong.push(`${key}: sent ${n}, output counts ${counts.length} (${counts.slice(-3).join(',')})`);
    }
  }
  expect(wrong, 'keys whose output is not exactly 1..sent').toEqual([]);
  expect([...countsPerKey.keys()].filter((k) => !sent.has(k))).toEqual([]);
  return { duplicates: output.records.size - byInput.size };
}

/** The counts the store holds across the tasks of `partitions` input partitions (the app must have closed). */
export async function storedCounts(
  stateDir: string,
  applicationId: string,
  partitions: number,
): Promise<Map<string, number>> {
  const all = new Map<string, number>();
  for (let partition = 0; partition < partitions; partition++) {
    const counts = await readCounts(stateDir, applicationId, {
      name: COUNT_STORE,
      taskId: `0_${partition}`,
      partition,
      format: 'plain',
    });
    for (const [k, v] of counts) all.set(k, v);
  }
  return all;
}
