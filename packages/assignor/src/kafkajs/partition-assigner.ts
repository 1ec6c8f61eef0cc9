// The kafkajs PartitionAssigner for Eddy: member subscriptions in, partitions and Eddy assignment userData out.

import type {
  Assigner,
  AssignerAssignment,
  AssignerProtocol,
  GroupMember,
  GroupMemberAssignment,
  PartitionAssigner,
} from 'kafkajs';
import { assignTasks } from '../assign-tasks.js';
import type { DecodedAssignment, DecodedSubscription, SubscriptionInfo } from '../codec.js';
import { decodeAssignment, decodeSubscription, encodeGroupAssignment, encodeSubscription } from '../codec.js';
import { AssignorError } from '../errors.js';
import type { AssignmentMember, AssignmentOptions, AssignmentPlan, MemberAssignment } from '../plan.js';
import { partitionsOf, sourceTasks } from './source-tasks.js';

/** The protocol name every member of an Eddy group announces in JoinGroup. */
export const EDDY_ASSIGNER_NAME = 'eddy';
/** Version of the kafkajs subscription/assignment envelope; Eddy versions its own userData inside it. */
export const EDDY_ASSIGNER_VERSION = 1;

/** kafkajs's `AssignerProtocol` value, passed in so that this package needs kafkajs for types only. */
export type KafkajsAssignerProtocol = typeof AssignerProtocol;

export interface EddyPartitionAssignerOptions {
  /** `AssignerProtocol` from 'kafkajs'. */
  readonly assignerProtocol: KafkajsAssignerProtocol;
  /** This member's subscription; called at every join, since lags change between rebalances. */
  readonly subscriptionInfo: () => SubscriptionInfo;
  /** Whether the source tasks hold state (default true). Stateless tasks ignore lags. */
  readonly statefulTasks?: boolean;
  readonly assignmentOptions?: Partial<AssignmentOptions>;
  /**
   * Called on every member, leader or not, after each SyncGroup with its decoded assignment. Needs the
   * patched kafkajs (`Assigner.onAssignment`); unpatched kafkajs never calls it.
   */
  readonly onAssignment?: (assignment: OwnAssignment) => void | Promise<void>;
}

/** What one member received in a generation. */
export interface OwnAssignment {
  readonly groupId: string;
  readonly generationId: number;
  readonly memberId: string;
  /** topic → partitions the consumer fetches (the active tasks). */
  readonly partitions: Readonly<Record<string, readonly number[]>>;
  /** The Eddy assignment: active, standby and warm-up tasks, host map, probing flag, error code. */
  readonly assignment: DecodedAssignment;
}

/**
 * A kafkajs `PartitionAssigner` named `eddy`. Every member announces `subscriptionInfo()` as its
 * subscription userData. The leader decodes all subscriptions and makes one task `0_<p>` per partition
 * number of the (co-partitioned) subscribed topics. It runs `assignTasks` and gives each member the
 * partitions of its active tasks. Each member also gets its Eddy assignment as userData, written in the
 * version all members read.
 */
export function eddyPartitionAssigner(options: EddyPartitionAssignerOptions): PartitionAssigner {
  const { assignerProtocol: protocol, subscriptionInfo, onAssignment } = options;
  const stateful = options.statefulTasks ?? true;
  // The last active tasks this leader gave each identity: keeps stateless tasks sticky.
  const previousActive = new Map<string, readonly string[]>();

  return ({ cluster }): Assigner => ({
    name: EDDY_ASSIGNER_NAME,
    version: EDDY_ASSIGNER_VERSION,

    protocol: ({ topics }) => ({
      name: EDDY_ASSIGNER_NAME,
      metadata: protocol.MemberMetadata.encode({
        version: EDDY_ASSIGNER_VERSION,
        topics,
        userData: encodeSubscription(subscriptionInfo()),
      }),
    }),

    assign: async ({ members, topics }): Promise<GroupMemberAssignment[]> => {
      const subscriptions = members.map((m) => decodeMember(protocol, m));
      const sortedTopics = [...new Set(topics)].sort();
      const counts = new Map(sortedTopics.map((t) => [t, cluster.findTopicPartitionMetadata(t).length]));
      const tasks = sourceTasks(counts, stateful);
      const assignmentMembers = subscriptions.map(({ memberId, subscription }) =>
        toAssignmentMember(memberId, subscription, previousActive.get(subscription.identity)),
      );
      const plan: AssignmentPlan =
        tasks === undefined
          ? emptyPlan(assignmentMembers)
          : assignTasks({ members: assignmentMembers, tasks, options: options.assignmentOptions ?? {} });
      const versions = new Map(subscriptions.map((s) => [s.memberId, s.subscription.latestSupportedVersion]));
      const { userData } = encodeGroupAssignment(
        plan,
        versions,
        tasks === undefined ? 'INCOMPLETE_SOURCE_TOPIC_METADATA' : 'NONE',
      );
      previousActive.clear();
      for (const { memberId, subscription } of subscriptions) {
        previousActive.set(subscription.identity, plan.members.get(memberId)?.active ?? []);
      }
      return subscriptions.map(({ memberId }) => {
        const partitions = partitionsOf(plan.members.get(memberId)?.active ?? []);
        return {
          memberId,
          memberAssignment: protocol.MemberAssignment.encode({
            version: EDDY_ASSIGNER_VERSION,
            assignment: Object.fromEntries(sortedTopics.map((t) => [t, partitions])),
            userData: userData.get(memberId) ?? Buffer.alloc(0),
          }),
        };
      });
    },

    ...(onAssignment === undefined
      ? {}
      : {
          onAssignment: async (received: AssignerAssignment) => {
            await onAssignment({
              groupId: received.groupId,
              generationId: received.generationId,
              memberId: received.memberId,
              partitions: received.assignment,
              assignment: decodeOwnAssignment(received.userData),
            });
          },
        }),
  });
}

/**
 * Decodes the Eddy assignment userData a member received (the `memberAssignmentUserData` of the patched
 * kafkajs `GROUP_JOIN` event). Missing or empty bytes (the group does not use the `eddy` assigner)
 * throw `ASSIGNOR_DECODE_FAILED`; see `decodeAssignment` for the rest.
 */
export function decodeOwnAssignment(userData: Uint8Array | null | undefined): DecodedAssignment {
  if (userData == null || userData.length === 0) {
    throw new AssignorError('ASSIGNOR_DECODE_FAILED', 'the assignment carries no Eddy userData');
  }
  return decodeAssignment(userData);
}

function decodeMember(
  protocol: KafkajsAssignerProtocol,
  member: GroupMember,
): { memberId: string; subscription: DecodedSubscription } {
  let subscription: DecodedSubscription;
  try {
    const metadata = protocol.MemberMetadata.decode(member.memberMetadata);
    if (metadata === null) throw new Error('empty member metadata');
    subscription = decodeSubscription(metadata.userData);
  } catch (cause) {
    throw new AssignorError(
      'ASSIGNOR_DECODE_FAILED',
      `cannot read the subscription of member ${member.memberId}: ${(cause as Error).message}`,
      { cause },
    );
  }
  return { memberId: member.memberId, subscription };
}

function toAssignmentMember(
  memberId: string,
  s: DecodedSubscription,
  previousActive: readonly string[] | undefined,
): AssignmentMember {
  return {
    memberId,
    identity: s.identity,
    processId: s.processId,
    taskLags: s.taskLags,
    ...(previousActive === undefined ? {} : { previousActive }),
    ...(s.endpoint === undefined ? {} : { endpoint: s.endpoint }),
    ...(s.rack === undefined ? {} : { rack: s.rack }),
  };
}

function emptyPlan(members: readonly AssignmentMember[]): AssignmentPlan {
  const none: MemberAssignment = { active: [], standby: [], warmup: [] };
  return {
    members: new Map(members.map((m) => [m.memberId, none])),
    hostOf: new Map(),
    probingRebalanceNeeded: false,
  };
}
