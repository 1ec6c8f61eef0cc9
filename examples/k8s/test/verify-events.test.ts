// How `pnpm k8s:verify` reads a pod watch: parallel creation against readiness, and the order of replacement.
import { describe, expect, it } from 'vitest';
import type { WatchEvent } from '../tools/verify/api.js';
import { parallelStart, replacementOrder } from '../tools/verify/events.js';

const pod = (name: string, opts: { ready?: boolean; deleting?: boolean } = {}) => ({
  metadata: { name, uid: name, ...(opts.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
  spec: { containers: [] },
  status: { conditions: [{ type: 'Ready', status: opts.ready ? 'True' : 'False' }] },
});
const added = (name: string): WatchEvent => ({ type: 'ADDED', object: pod(name) });
const ready = (name: string): WatchEvent => ({ type: 'MODIFIED', object: pod(name, { ready: true }) });
const deleting = (name: string): WatchEvent => ({ type: 'MODIFIED', object: pod(name, { deleting: true }) });
const deleted = (name: string): WatchEvent => ({ type: 'DELETED', object: pod(name, { deleting: true }) });

describe('parallelStart', () => {
  it('holds when every pod is created before the first is Ready', () => {
    const events = [
      added('app-0'),
      added('app-1'),
      added('app-2'),
      ready('app-1'),
      ready('app-1'),
      ready('app-0'),
    ];
    const r = parallelStart([...events, ready('app-2')], 'app');
    expect(r).toEqual({
      created: ['app-0', 'app-1', 'app-2'],
      order: ['created app-0', 'created app-1', 'created app-2', 'Ready app-1', 'Ready app-0', 'Ready app-2'],
      allCreatedBeforeReady: true,
    });
  });

  it('fails for an ordered start, each pod created after the previous one is Ready', () => {
    const r = parallelStart([added('app-0'), ready('app-0'), added('app-1'), ready('app-1')], 'app');
    expect(r.allCreatedBeforeReady).toBe(false);
    expect(r.created).toEqual(['app-0', 'app-1']);
  });

  it('ignores pods of other sets and fails when nothing was created', () => {
    const r = parallelStart([added('other-0'), added('app-x'), ready('other-0')], 'app');
    expect(r).toEqual({ created: [], order: [], allCreatedBeforeReady: false });
  });
});

describe('replacementOrder', () => {
  it('orders pods by the first sign of their deletion, once each', () => {
    const events = [
      deleting('app-2'),
      deleted('app-2'),
      added('app-2'),
      ready('app-2'),
      deleted('app-1'),
      added('app-1'),
      deleting('app-0'),
      deleting('app-0'),
    ];
    expect(replacementOrder(events, 'app')).toEqual(['app-2', 'app-1', 'app-0']);
  });

  it('sees an ascending order as such', () => {
    expect(replacementOrder([deleting('app-0'), deleting('app-1')], 'app')).toEqual(['app-0', 'app-1']);
  });
});
