// Phase B of the assignment: the tasks placed on a process are shared out among its threads (members).

import type { AssignmentMember, AssignmentTask } from './plan.js';
import type { Processes } from './processes.js';
import { Quota } from './quota.js';

const NONE = -1;

/** Where each task's active, warm-up and standbys are: process indices, or member indices. */
export interface Placement {
  /** task → its active. */
  readonly activeOf: Int32Array;
  /** task → its warm-up, or -1. */
  readonly warmupOf: Int32Array;
  /** task → its standbys. */
  readonly standbysOf: readonly (readonly number[])[];
}

/**
 * Turns a placement on processes into one on members. Each process shares out its actives among its
 * threads: stateful tasks first, then all tasks, each balanced so that thread counts differ by at
 * most one. A task stays with the thread that ran it before (`previousActive`) while that thread has
 * room; the others go to the least loaded thread. A replica goes to the thread of its process with
 * the fewest replicas, then the fewest actives. Ties follow member order.
 */
export function placeOnThreads(
  members: readonly AssignmentMember[],
  tasks: readonly AssignmentTask[],
  processes: Processes,
  onProcesses: Placement,
): Placement {
  const activeOf = new Int32Array(tasks.length).fill(NONE);
  const actives = new Int32Array(members.length);
  const previous = members.map((member) => new Set(member.previousActive ?? []));
  const perProcess: number[][] = processes.list.map(() => []);
  for (let t = 0; t < tasks.length; t++) perProcess[onProcesses.activeOf[t]!]!.push(t);
  processes.list.forEach(({ members: threads }, p) => {
    const own = perProcess[p]!;
    const stateful = own.filter((t) => tasks[t]!.stateful);
    const stateless = own.filter((t) => !tasks[t]!.stateful);
    const ones = new Int32Array(threads.length).fill(1);
    const statefulQuota = new Quota(ones, [stateful.length]);
    shareOut(stateful, statefulQuota);
    shareOut(stateless, new Quota(ones, [own.length], Int32Array.from(statefulQuota.counts)));

    function shareOut(list: readonly number[], quota: Quota): void {
      const place = (t: number, i: number) => {
        activeOf[t] = threads[i]!;
        actives[threads[i]!]!++;
        quota.add(i);
      };
      for (const t of list) {
        const i = threads.findIndex((m) => previous[m]!.has(tasks[t]!.id));
        if (i !== NONE && quota.hasRoom(i)) place(t, i);
      }
      for (const t of list) {
        if (activeOf[t] !== NONE) continue;
        // The least loaded thread always has room: counts stay within ⌊c/w⌋ and ⌈c/w⌉.
        let least = 0;
        for (let i = 1; i < threads.length; i++) if (quota.counts[i]! < quota.counts[least]!) least = i;
        place(t, least);
      }
    }
  });

  const replicas = new Int32Array(members.length);
  const replicaThread = (p: number): number => {
    let best = NONE;
    for (const m of processes.list[p]!.members) {
      if (
        best === NONE ||
        replicas[m]! < replicas[best]! ||
        (replicas[m] === replicas[best] && actives[m]! < actives[best]!)
      ) {
        best = m;
      }
    }
    replicas[best]!++;
    return best;
  };
  const warmupOf = new Int32Array(tasks.length).fill(NONE);
  const standbysOf = tasks.map((_, t) => {
    const warmup = onProcesses.warmupOf[t]!;
    if (warmup !== NONE) warmupOf[t] = replicaThread(warmup);
    return onProcesses.standbysOf[t]!.map((p) => replicaThread(p));
  });
  return { activeOf, warmupOf, standbysOf };
}
