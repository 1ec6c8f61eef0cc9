// Members grouped into processes: the stream threads of one instance share its `processId`.

import type { AssignmentMember } from './plan.js';

/** One instance (pod): the members (threads) that share a `processId`. */
export interface Process {
  /** Indices of its members, in member order. The first one orders the process and gives its rack. */
  readonly members: readonly number[];
  /** The rack of its first member. */
  readonly rack: string | undefined;
}

export interface Processes {
  /** In the order of their first member. */
  readonly list: readonly Process[];
  /** member index → process index. */
  readonly processOf: Int32Array;
  /** process index → its number of members (threads): its weight in the quotas. */
  readonly capacities: Int32Array;
}

/** Groups members (already in member order) by `processId`; processes follow their first member. */
export function groupProcesses(members: readonly AssignmentMember[]): Processes {
  const index = new Map<string, number>();
  const lists: number[][] = [];
  const processOf = new Int32Array(members.length);
  members.forEach((member, m) => {
    let p = index.get(member.processId);
    if (p === undefined) {
      p = lists.length;
      index.set(member.processId, p);
      lists.push([]);
    }
    lists[p]!.push(m);
    processOf[m] = p;
  });
  return {
    list: lists.map((list) => ({ members: list, rack: members[list[0]!]!.rack })),
    processOf,
    capacities: Int32Array.from(lists, (list) => list.length),
  };
}
