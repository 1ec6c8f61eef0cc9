// The group protocol of an in-memory consumer created without one: each member announces its topics, and the
// leader deals the partitions of every topic round robin over the members that subscribe to it.

import type { GroupMemberSubscription, GroupProtocol, MemberPlan } from '../port.js';

export function roundRobinProtocol(topics: () => readonly string[]): GroupProtocol {
  return {
    name: 'roundrobin',
    subscription: () => Buffer.from(JSON.stringify([...topics()])),
    assign(members: GroupMemberSubscription[], partitionCount: (topic: string) => number) {
      const plans = new Map<string, MemberPlan>();
      const subscribed = new Map<string, string[]>();
      for (const m of [...members].sort((a, b) => a.memberId.localeCompare(b.memberId))) {
        plans.set(m.memberId, { partitions: [], userData: Buffer.alloc(0) });
        for (const topic of JSON.parse(m.userData.toString()) as string[]) {
          subscribed.set(topic, [...(subscribed.get(topic) ?? []), m.memberId]);
        }
      }
      let next = 0;
      for (const topic of [...subscribed.keys()].sort()) {
        const ids = subscribed.get(topic)!;
        for (let partition = 0; partition < partitionCount(topic); partition++) {
          plans.get(ids[next++ % ids.length]!)!.partitions.push({ topic, partition });
        }
      }
      return plans;
    },
  };
}
