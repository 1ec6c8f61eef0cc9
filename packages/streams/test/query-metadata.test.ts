// QueryMetadata: which endpoints hold a key of a store, from an assignment's host map.
import type { HostTasks } from '@eddy/assignor';
import { partitionForKey } from '@eddy/assignor';
import { describe, expect, it } from 'vitest';
import { StreamsError } from '../src/errors.js';
import { QueryMetadata } from '../src/runtime/query-metadata.js';

const PARTITIONS = 4;
/** Stores of subtopology 0, and its partition count. */
const stores = (...names: string[]) => new Map(names.map((n) => [n, 0]));
const parts = (count: number) => new Map([[0, count]]);

const hostOf = new Map<string, HostTasks>([
  ['10.0.0.3:7070', { active: ['0_3'], standby: ['0_0', '0_1'] }],
  ['10.0.0.1:7070', { active: ['0_0', '0_1'], standby: ['0_2', '0_3'] }],
  ['10.0.0.2:7070', { active: ['0_2'], standby: ['0_0', '0_3'], rack: 'zone-b' }],
]);

const activeOf = (task: string) => [...hostOf].find(([, t]) => t.active.includes(task))?.[0];
const standbysOf = (task: string) =>
  [...hostOf]
    .filter(([, t]) => t.standby.includes(task))
    .map(([endpoint]) => endpoint)
    .sort();

describe('QueryMetadata', () => {
  const metadata = new QueryMetadata(hostOf, stores('counts', 'totals'), parts(PARTITIONS));

  it('routes a key to the task of its murmur2 partition, with its active and standby endpoints', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 50; i++) {
      const key = Buffer.from(`word-${i}`);
      const partition = partitionForKey(key, PARTITIONS);
      seen.add(partition);
      const found = metadata.forKey('counts', key);
      expect(found).toEqual({
        taskId: `0_${partition}`,
        partition,
        active: activeOf(`0_${partition}`),
        standbys: standbysOf(`0_${partition}`),
      });
      // Every store of the topology lives in the same tasks.
      expect(metadata.forKey('totals', key)).toEqual(found);
    }
    expect([...seen].sort()).toEqual([0, 1, 2, 3]);
  });

  it('partitions like the Java client: known murmur2 partitions', () => {
    // Kafka's default partitioner: toPositive(murmur2(bytes)) % partitions.
    expect(metadata.forKey('counts', Buffer.from('')).partition).toBe(partitionForKey(Buffer.alloc(0), 4));
    // murmur2("hello") = 2132663229 → 2132663229 % 4 = 1.
    expect(metadata.forKey('counts', Buffer.from('hello'))).toMatchObject({
      taskId: '0_1',
      partition: 1,
      active: '10.0.0.1:7070',
      standbys: ['10.0.0.3:7070'],
    });
  });

  it('names no active endpoint for a task nobody runs', () => {
    const partial = new QueryMetadata(
      new Map<string, HostTasks>([['h:1', { active: ['0_0'], standby: [] }]]),
      stores('counts'),
      parts(2),
    );
    const key = [...Array(20).keys()]
      .map((i) => Buffer.from(`k${i}`))
      .find((k) => partitionForKey(k, 2) === 1);
    expect(key).toBeDefined();
    expect(partial.forKey('counts', key!)).toEqual({
      taskId: '0_1',
      partition: 1,
      active: undefined,
      standbys: [],
    });
  });

  it('fails with UNKNOWN_STORE for a store the topology does not have', () => {
    let caught: unknown;
    try {
      metadata.forKey('nope', Buffer.from('k'));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(StreamsError);
    expect((caught as StreamsError).code).toBe('UNKNOWN_STORE');
    expect((caught as StreamsError).message).toContain('nope');

    const stateless = new QueryMetadata(hostOf, stores(), parts(PARTITIONS));
    expect(() => stateless.forKey('counts', Buffer.from('k'))).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_STORE' }),
    );
  });

  it('all() lists every endpoint with its tasks, sorted by endpoint', () => {
    expect(metadata.all()).toEqual([
      { endpoint: '10.0.0.1:7070', activeTasks: ['0_0', '0_1'], standbyTasks: ['0_2', '0_3'] },
      { endpoint: '10.0.0.2:7070', activeTasks: ['0_2'], standbyTasks: ['0_0', '0_3'] },
      { endpoint: '10.0.0.3:7070', activeTasks: ['0_3'], standbyTasks: ['0_0', '0_1'] },
    ]);
    expect(new QueryMetadata(new Map(), stores('counts'), parts(PARTITIONS)).all()).toEqual([]);
  });
});
