// A kafkajs PartitionAssigner that carries a port GroupProtocol: its bytes in JoinGroup, its plans in SyncGroup.

import { type Assigner, type AssignerAssignment, AssignerProtocol, type PartitionAssigner } from '#kafkajs';
import type { GroupMemberSubscription, GroupProtocol } from '../port.js';

/** Version of kafkajs's subscription/assignment envelope; the protocol versions its own userData inside it. */
export const ENVELOPE_VERSION = 1;

export interface GroupAssignerOptions {
  /**
   * Called on every member, leader or not, after each SyncGroup, with the bytes the leader wrote for it. Needs the
   * patched kafkajs (`Assigner.onAssignment`, see docs/kafkajs-patch.md); unpatched kafkajs never calls it.
   */
  onAssignment?: (assignment: AssignerAssignment) => void | Promise<void>;
}

/**
 * Turns `protocol` into a kafkajs assigner. Members announce `protocol.subscription()` as the userData of their
 * subscription; the leader hands every member's bytes to `protocol.assign` with the partition counts of its
 * metadata, and writes each plan as that member's assignment (every subscribed topic listed, empty or not).
 */
export function groupProtocolAssigner(
  protocol: GroupProtocol,
  options: GroupAssignerOptions = {},
): PartitionAssigner {
  return ({ cluster }): Assigner => ({
    name: protocol.name,
    version: ENVELOPE_VERSION,

    protocol: ({ topics }) => ({
      name: protocol.name,
      metadata: AssignerProtocol.MemberMetadata.encode({
        version: ENVELOPE_VERSION,
        topics,
        userData: protocol.subscription(),
      }),
    }),

    assign: async ({ members, topics }) => {
      const subscriptions = members.map((m): GroupMemberSubscription => {
        const metadata = decodeMetadata(m.memberMetadata);
        const groupInstanceId = (m as { groupInstanceId?: string | null }).groupInstanceId;
        return {
          memberId: m.memberId,
          ...(groupInstanceId == null ? {} : { groupInstanceId }),
          userData: metadata?.userData ?? Buffer.alloc(0),
        };
      });
      const plans = await protocol.assign(
        subscriptions,
        (topic) => cluster.findTopicPartitionMetadata(topic).length,
      );
      const subscribed = [...new Set(topics)].sort();
      return members.map(({ memberId }) => {
        const plan = plans.get(memberId);
        const assignment: Record<string, number[]> = Object.fromEntries(subscribed.map((t) => [t, []]));
        for (const { topic, partition } of plan?.partitions ?? []) {
          assignment[topic] = [...(assignment[topic] ?? []), partition];
        }
        return {
          memberId,
          memberAssignment: AssignerProtocol.MemberAssignment.encode({
            version: ENVELOPE_VERSION,
            assignment,
            userData: plan?.userData ?? Buffer.alloc(0),
          }),
        };
      });
    },

    ...(options.onAssignment === undefined ? {} : { onAssignment: options.onAssignment }),
  });
}

/** A member's subscription envelope, or null for bytes that are not one (the protocol then ignores the member). */
function decodeMetadata(bytes: Buffer): { userData: Buffer | null } | null {
  try {
    return AssignerProtocol.MemberMetadata.decode(bytes);
  } catch {
    return null;
  }
}
